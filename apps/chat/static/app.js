// The chat page: plain JavaScript on the browser client served by the
// server at /socket.io/socket.io.js.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const socket = io();
  // For the console and the page's tests.
  window.chatSocket = socket;
  const state = {
    name: null,
    room: null, // null: the main chat
    rooms: new Set(),
    // Messages shown per conversation ("" is the main chat), by id.
    seen: new Map(),
    lastId: new Map(),
    typing: new Map(),
  };
  const key = (room) => room || "";

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function time(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function render(message, pendingItem) {
    const k = key(message.room);
    if (!state.seen.has(k)) state.seen.set(k, new Set());
    if (state.seen.get(k).has(message.id)) return;
    state.seen.get(k).add(message.id);
    state.lastId.set(k, Math.max(state.lastId.get(k) || 0, message.id));
    if (key(state.room) !== k) return;
    const li = pendingItem || el("li");
    li.textContent = "";
    li.dataset.id = message.id;
    li.append(el("span", "time", time(message.timestamp)), el("span", "user", message.user ?? "anonymous"), document.createTextNode(message.text));
    if (pendingItem) {
      li.classList.remove("pending");
      li.append(el("span", "tick", "✓"));
    } else {
      // In id order: a gap fetched after a reconnection may arrive after
      // newer messages.
      const later = [...$("messages").querySelectorAll("li[data-id]")].find((other) => Number(other.dataset.id) > message.id);
      $("messages").insertBefore(li, later || null);
    }
    scroll();
  }

  // Everything in `room` after message `since`, paging back from the
  // newest until the page reaches it (or the beginning).
  function fetchGap(room, since) {
    const page = (before) =>
      socket.emit("chat:history", { room, before, limit: 200 }, (reply) => {
        if (!reply || !reply.messages) return;
        const messages = reply.messages;
        messages.filter((m) => !since || m.id > since).forEach((m) => render(m));
        if (since && messages.length === 200 && messages[0].id > since + 1) page(messages[0].id);
      });
    page(null);
  }

  function system(text) {
    $("messages").append(el("li", "system", text));
    scroll();
  }

  function scroll() {
    const list = $("messages");
    list.scrollTop = list.scrollHeight;
  }

  function show(room) {
    state.room = room;
    $("where").textContent = room ? `# ${room}` : "# general";
    $("leave").hidden = !room;
    for (const li of $("rooms").children) li.classList.toggle("current", li.dataset.room === key(room));
    $("messages").textContent = "";
    state.seen.set(key(room), new Set());
    socket.emit("chat:history", { room, limit: 50 }, (reply) => {
      if (reply && reply.messages) reply.messages.forEach((m) => render(m));
    });
  }

  function listRooms() {
    const list = $("rooms");
    list.textContent = "";
    const general = el("li", "", "# general");
    general.dataset.room = "";
    list.append(general);
    for (const room of state.rooms) {
      const li = el("li", "", `# ${room}`);
      li.dataset.room = room;
      list.append(li);
    }
    for (const li of list.children) li.classList.toggle("current", li.dataset.room === key(state.room));
  }

  $("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = $("name").value.trim();
    socket.emit("user:join", name, (reply) => {
      if (reply.status !== "ok") {
        $("join-error").textContent = reply.error;
        return;
      }
      state.name = reply.user;
      sessionStorage.setItem("chat-name", reply.user);
      $("join").hidden = true;
      $("chat").hidden = false;
      $("message").focus();
    });
  });

  $("message-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("message");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const item = el("li", "pending");
    item.append(el("span", "user", state.name), document.createTextNode(text), el("span", "tick", "…"));
    $("messages").append(item);
    scroll();
    const done = (reply) => {
      if (reply.status !== "ok") {
        item.classList.add("system");
        item.textContent = `Not sent: ${reply.error}`;
        return;
      }
      // The server broadcasts before it acknowledges, so the message is
      // usually shown already: tick it there and drop the placeholder.
      const shown = $("messages").querySelector(`li[data-id="${reply.id}"]`);
      if (shown) {
        shown.append(el("span", "tick", "✓"));
        item.remove();
      } else {
        item.dataset.pending = reply.id;
      }
    };
    if (state.room) socket.emit("room:message", { room: state.room, message: text }, done);
    else socket.emit("chat:message", text, done);
  });

  $("message").addEventListener("input", () => socket.emit("chat:typing"));

  $("room-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const room = $("room").value.trim();
    if (!room) return;
    $("room").value = "";
    socket.emit("room:join", room, (reply) => {
      if (reply.status !== "ok") return system(reply.error);
      state.rooms.add(reply.room);
      listRooms();
      show(reply.room);
    });
  });

  $("rooms").addEventListener("click", (e) => {
    const li = e.target.closest("li");
    if (li) show(li.dataset.room || null);
  });

  $("leave").addEventListener("click", () => {
    const room = state.room;
    socket.emit("room:leave", room, () => {
      state.rooms.delete(room);
      listRooms();
      show(null);
    });
  });

  socket.on("chat:message", (message) => {
    const pending = [...$("messages").querySelectorAll("li.pending")].find((li) => Number(li.dataset.pending) === message.id);
    render(message, pending);
  });

  socket.on("chat:history", ({ room, messages }) => {
    if (key(room) === key(state.room)) messages.forEach((m) => render(m));
  });

  socket.on("users:online", (names) => {
    const list = $("online");
    list.textContent = "";
    for (const name of names) list.append(el("li", "", name));
  });

  socket.on("user:joined", (text) => { if (!state.room) system(text); });
  socket.on("user:left", (text) => { if (!state.room) system(text); });
  socket.on("system", (text) => system(text));
  socket.on("chat:error", ({ error }) => system(`Error: ${error}`));

  socket.on("chat:typing", (name) => {
    clearTimeout(state.typing.get(name));
    state.typing.set(name, setTimeout(() => { state.typing.delete(name); showTyping(); }, 2000));
    showTyping();
  });

  function showTyping() {
    const names = [...state.typing.keys()];
    $("typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing...` : "";
  }

  socket.on("disconnect", () => { $("banner").hidden = false; });
  socket.io.on("reconnect_attempt", () => { $("banner").hidden = false; });

  socket.on("connect", () => {
    $("banner").hidden = true;
    // A short drop is recovered by the server (connection state
    // recovery): same session, rooms and name, and the missed messages
    // arrive as if nothing happened. After a longer absence the session is
    // new: join again and fetch the gap.
    if (state.name && !socket.recovered) {
      socket.emit("user:join", state.name, () => {});
      for (const room of state.rooms) socket.emit("room:join", room, () => {});
      fetchGap(state.room, state.lastId.get(key(state.room)));
    }
  });

  const saved = sessionStorage.getItem("chat-name");
  if (saved) {
    $("name").value = saved;
  }
})();
