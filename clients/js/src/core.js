// switchboard browser client: Socket.IO v5 over Engine.IO v4, written from
// the two protocol specifications. No dependencies and no build step.
//
// This file is the start of two files served by the server:
//   /socket.io/socket.io.js      = core.js + classic.js (classic script)
//   /socket.io/socket.io.esm.js  = core.js + esm.js     (ES module)
// so it must be valid as the start of either: no import or export, no
// top-level await, and a single top-level name, `io`, that the endings
// publish (a classic script's top-level names are page globals; one name is
// what the official bundle adds too). `var` rather than `const`: loading
// the script twice must not be a redeclaration error.
var io = (() => {
  "use strict";

  // ---------------------------------------------------------------------
  // Events
  // ---------------------------------------------------------------------

  // A listener that throws must not unwind the client half-way through a
  // state change (a transport half closed, an ack half delivered), so each
  // listener runs on its own and its exception is reported to the page the
  // way an uncaught one would be.
  const report = (error) => {
    if (typeof reportError === "function") reportError(error);
    else setTimeout(() => { throw error; });
  };

  const invoke = (fn, self, args) => {
    try {
      fn.apply(self, args);
    } catch (error) {
      report(error);
    }
  };

  class Emitter {
    constructor() {
      // Event names are strings on the wire but may be numbers in an EVENT
      // packet; `String` makes 1 and "1" the same event, as in JavaScript
      // objects.
      this._handlers = new Map();
    }

    on(event, fn) {
      const key = String(event);
      const list = this._handlers.get(key);
      if (list) list.push(fn);
      else this._handlers.set(key, [fn]);
      return this;
    }

    once(event, fn) {
      const wrapper = (...args) => {
        this.off(event, wrapper);
        fn.apply(this, args);
      };
      wrapper.listener = fn;
      return this.on(event, wrapper);
    }

    off(event, fn) {
      if (event === undefined) {
        this._handlers.clear();
        return this;
      }
      const key = String(event);
      if (fn === undefined) {
        this._handlers.delete(key);
        return this;
      }
      const list = this._handlers.get(key);
      if (list) {
        const i = list.findIndex((l) => l === fn || l.listener === fn);
        if (i >= 0) list.splice(i, 1);
        if (!list.length) this._handlers.delete(key);
      }
      return this;
    }

    listeners(event) {
      return (this._handlers.get(String(event)) || []).slice();
    }

    hasListeners(event) {
      return this._handlers.has(String(event));
    }

    // The client's own events; `Socket` turns `emit` into sending.
    emitReserved(event, ...args) {
      const list = this._handlers.get(String(event));
      if (list) for (const fn of list.slice()) invoke(fn, this, args);
      return this;
    }

    emit(event, ...args) {
      return this.emitReserved(event, ...args);
    }
  }
  Emitter.prototype.addEventListener = Emitter.prototype.on;
  Emitter.prototype.removeListener = Emitter.prototype.off;
  Emitter.prototype.removeAllListeners = Emitter.prototype.off;

  // Subscribes and returns the unsubscribe function.
  const subscribe = (emitter, event, fn) => {
    emitter.on(event, fn);
    return () => emitter.off(event, fn);
  };

  const failure = (message, reason, cause) => {
    const error = new Error(message);
    error.type = reason === "parse error" ? "ParseError" : "TransportError";
    error.reason = reason;
    if (cause !== undefined) error.description = cause;
    return error;
  };

  // ---------------------------------------------------------------------
  // Binary helpers
  // ---------------------------------------------------------------------

  const isBlob = (x) => typeof Blob !== "undefined" && x instanceof Blob;
  const isBinary = (x) =>
    x instanceof ArrayBuffer || ArrayBuffer.isView(x) || isBlob(x);

  const bytesOf = (x) =>
    x instanceof ArrayBuffer
      ? new Uint8Array(x)
      : new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

  const toBase64 = (bytes) => {
    let text = "";
    // In slices: `fromCharCode` takes its arguments on the stack.
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  };

  const fromBase64 = (text) => {
    const raw = atob(text); // throws on bad input: a parse error
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  };

  const utf8Length = (text) => {
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
        n += 4; // a surrogate pair is one 4-byte character
        i++;
      } else n += 3;
    }
    return n;
  };

  // ---------------------------------------------------------------------
  // Engine.IO v4 packets
  // ---------------------------------------------------------------------

  const EIO_TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];
  const SEPARATOR = "\x1e";

  // One packet from a WebSocket frame or one record of a polling payload.
  // Throws on anything the spec does not allow.
  const decodeEio = (raw) => {
    if (typeof raw !== "string") {
      if (raw instanceof ArrayBuffer) return { type: "message", data: raw };
      throw failure("unexpected frame", "parse error");
    }
    if (raw[0] === "b") return { type: "message", data: fromBase64(raw.slice(1)) };
    const type = /^[0-6]/.test(raw) ? EIO_TYPES[raw.charCodeAt(0) - 48] : undefined;
    if (!type) throw failure("unknown packet type", "parse error");
    return raw.length > 1 ? { type, data: raw.slice(1) } : { type };
  };

  // Binary goes as is on a WebSocket, as `b` + base64 in a polling payload.
  const encodeEio = (packet, binaryFrames) => {
    const { type, data } = packet;
    if (data !== undefined && typeof data !== "string") {
      return binaryFrames ? data : "b" + toBase64(bytesOf(data));
    }
    return EIO_TYPES.indexOf(type) + (data === undefined ? "" : data);
  };

  // ---------------------------------------------------------------------
  // Transports: each emits open, packet, drain, error (an Error with
  // .reason "transport error" or "parse error") and close (server side).
  // ---------------------------------------------------------------------

  class Transport extends Emitter {
    constructor(engine) {
      super();
      this.engine = engine;
      this.state = "closed";
      this.writable = false;
    }

    _opened() {
      this.state = "open";
      this.writable = true;
      this.emitReserved("open");
    }

    _fail(message, reason, cause) {
      if (this.state === "closed") return;
      this.emitReserved("error", failure(message, reason, cause));
    }

    _closed(reason) {
      if (this.state === "closed") return;
      this.state = "closed";
      this.writable = false;
      this.emitReserved("close", reason);
    }
  }

  let stamps = 0;
  // A fresh value per request, so no cache answers a long-poll.
  const stamp = () => Date.now().toString(36) + (stamps++).toString(36);

  class Polling extends Transport {
    get name() {
      return "polling";
    }

    open() {
      this.state = "opening";
      this._poll();
    }

    _request(method, body) {
      const opts = this.engine.opts;
      const abort = new AbortController();
      const headers = Object.assign({}, opts.extraHeaders);
      if (method === "POST") headers["Content-Type"] = "text/plain;charset=UTF-8";
      const done = fetch(this.engine._uri("polling"), {
        method,
        body,
        headers,
        credentials: opts.withCredentials ? "include" : "same-origin",
        cache: "no-store",
        signal: abort.signal,
      }).then((response) => {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      });
      return { abort, done };
    }

    _poll() {
      // The spec allows one GET at a time per session.
      const request = this._request("GET");
      this._get = request;
      this.polling = true;
      request.done.then(
        (text) => {
          if (this._get !== request) return;
          this._get = null;
          this._onPayload(text);
        },
        (error) => {
          if (this._get !== request) return;
          this._get = null;
          this._fail("xhr poll error", "transport error", error);
        },
      );
    }

    _onPayload(text) {
      for (const record of text.split(SEPARATOR)) {
        if (this.state === "closed") return;
        let packet;
        try {
          packet = decodeEio(record);
        } catch (error) {
          // Packets before the bad one have been delivered, as the
          // reference server does with a client's payload.
          return this._fail("parse error", "parse error", error);
        }
        if (this.state === "opening") {
          if (packet.type !== "open") {
            return this._fail("handshake expected", "parse error", record);
          }
          this._opened();
        }
        if (packet.type === "close") return this._closed("transport close");
        this.emitReserved("packet", packet);
      }
      if (this.state === "closed") return;
      this.polling = false;
      if (this.state === "open") this._poll();
      else this._checkPause();
    }

    send(packets) {
      this.writable = false;
      const body = packets.map((p) => encodeEio(p, false)).join(SEPARATOR);
      const request = this._request("POST", body);
      this._post = request;
      this._posted = request.done.then(
        () => {
          if (this._post !== request) return;
          this._post = null;
          this.writable = true;
          this._checkPause();
          this.emitReserved("drain");
        },
        (error) => {
          if (this._post !== request) return;
          this._post = null;
          this._fail("xhr post error", "transport error", error);
        },
      );
    }

    // Upgrade: no new requests, and `onPause` once the pending GET (the
    // server releases it with a noop after the probe) and POST are done, so
    // no packet can be lost between the two transports.
    pause(onPause) {
      this.state = "pausing";
      this._onPause = onPause;
      this._checkPause();
    }

    _checkPause() {
      if (this.state === "pausing" && !this.polling && this.writable) {
        this.state = "paused";
        const done = this._onPause;
        this._onPause = null;
        done();
      }
    }

    // The probe failed after pausing began: carry on polling.
    resume() {
      if (this.state !== "pausing" && this.state !== "paused") return;
      this._onPause = null;
      this.state = "open";
      if (!this.polling) this._poll();
    }

    close() {
      if (this.state === "closed") return;
      const session = this.state !== "opening";
      this.state = "closed";
      this.writable = false;
      const get = this._get;
      this._get = this._post = null;
      if (!session) {
        if (get) get.abort.abort();
        return;
      }
      // A close packet ends the session at once instead of by its ping
      // timeout; it waits for a POST in flight (one POST at a time). The
      // server answers the pending GET when it sees it; abort the GET after
      // that anyway, so it does not hold one of the browser's few
      // connections to this host.
      Promise.resolve(this._posted)
        .catch(() => {})
        .then(() => this._request("POST", "1").done)
        .catch(() => {})
        .then(() => get && get.abort.abort());
    }
  }

  class WebSocketTransport extends Transport {
    get name() {
      return "websocket";
    }

    open() {
      this.state = "opening";
      let ws;
      try {
        ws = new WebSocket(this.engine._uri("websocket"), this.engine.opts.protocols);
      } catch (error) {
        // Reported from a task of its own, like every other failure.
        setTimeout(() => this._fail("websocket error", "transport error", error));
        return;
      }
      ws.binaryType = "arraybuffer";
      ws.onopen = () => {
        if (this.state === "opening") this._opened();
      };
      ws.onmessage = (event) => {
        if (this.state === "closed") return;
        let packet;
        try {
          packet = decodeEio(event.data);
        } catch (error) {
          return this._fail("parse error", "parse error", error);
        }
        this.emitReserved("packet", packet);
      };
      ws.onerror = (event) => this._fail("websocket error", "transport error", event);
      ws.onclose = (event) => this._closed("transport close", event);
      this.ws = ws;
    }

    // `send` buffers inside the WebSocket, so this transport stays writable.
    send(packets) {
      try {
        for (const p of packets) this.ws.send(encodeEio(p, true));
      } catch (error) {
        this._fail("websocket error", "transport error", error);
      }
    }

    close() {
      if (this.state === "closed") return;
      this.state = "closed";
      this.writable = false;
      const ws = this.ws;
      if (!ws) return;
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      // Frames already sent go out before the close frame.
      ws.close();
    }
  }

  const TRANSPORTS = { polling: Polling, websocket: WebSocketTransport };

  const queryObject = (query) => {
    if (!query) return {};
    if (typeof query === "string") return Object.fromEntries(new URLSearchParams(query));
    return Object.assign({}, query);
  };

  // ---------------------------------------------------------------------
  // Engine.IO session: handshake, heartbeat, buffering, upgrade
  // ---------------------------------------------------------------------

  class Engine extends Emitter {
    constructor(url, opts) {
      super();
      this.opts = opts;
      this._secure = url.secure;
      this._host = url.host;
      this._path = (opts.path || "/engine.io").replace(/\/$/, "") + "/";
      this.query = Object.assign(queryObject(url.query), queryObject(opts.query));
      this.transports = (opts.transports || ["polling", "websocket"]).filter(
        (name) => name in TRANSPORTS,
      );
      this.readyState = "closed";
      this.id = null;
      this.transport = null;
      this.writeBuffer = [];
      this.upgrades = [];
      this.upgrading = false;
    }

    _uri(name) {
      const query = new URLSearchParams(this.query);
      query.set("EIO", "4");
      query.set("transport", name);
      if (this.id) query.set("sid", this.id);
      if (name === "polling" && this.opts.timestampRequests !== false) {
        query.set(this.opts.timestampParam || "t", stamp());
      }
      const scheme =
        name === "websocket" ? (this._secure ? "wss" : "ws") : this._secure ? "https" : "http";
      return scheme + "://" + this._host + this._path + "?" + query;
    }

    open() {
      this.readyState = "opening";
      const name = this.transports[0];
      if (!name) {
        setTimeout(() => this._onError(failure("No transports available", "transport error")));
        return this;
      }
      if (typeof addEventListener === "function") {
        // A lost network shows up at once rather than at the ping timeout.
        this._offline = () => this._onClose("transport close", "network connection lost");
        addEventListener("offline", this._offline, false);
      }
      const transport = new TRANSPORTS[name](this);
      this._setTransport(transport);
      transport.open();
      return this;
    }

    _setTransport(transport) {
      if (this.transport) this.transport.off();
      this.transport = transport;
      transport.on("packet", (p) => this._onPacket(p));
      transport.on("drain", () => this._onDrain());
      transport.on("error", (e) => this._onError(e));
      transport.on("close", (reason) => this._onClose(reason || "transport close"));
    }

    _onPacket(packet) {
      const state = this.readyState;
      if (state !== "opening" && state !== "open" && state !== "closing") return;
      if (!this.id && packet.type !== "open") {
        // Nothing means anything before the handshake (its timings least).
        return this._onError(failure("handshake expected", "parse error", packet.type));
      }
      this.emitReserved("packet", packet);
      switch (packet.type) {
        case "open":
          if (!this.id) this._onHandshake(packet.data);
          break;
        case "ping":
          this._resetPingTimer();
          this._send("pong");
          this.emitReserved("ping");
          break;
        case "message":
          this.emitReserved("data", packet.data);
          this.emitReserved("message", packet.data);
          break;
        case "close":
          this._onClose("transport close");
          break;
      }
    }

    _onHandshake(json) {
      let data;
      try {
        data = JSON.parse(json);
      } catch (error) {
        return this._onError(failure("invalid handshake", "parse error", error));
      }
      if (!data || typeof data.sid !== "string" || !data.sid) {
        return this._onError(failure("invalid handshake", "parse error", json));
      }
      const number = (value, fallback) =>
        typeof value === "number" && value >= 0 && value < 2 ** 31 ? value : fallback;
      this.id = data.sid;
      this.upgrades = (Array.isArray(data.upgrades) ? data.upgrades : []).filter((u) =>
        this.transports.includes(u),
      );
      this.pingInterval = number(data.pingInterval, 25000);
      this.pingTimeout = number(data.pingTimeout, 20000);
      this.maxPayload = number(data.maxPayload, 0);
      this.emitReserved("handshake", data);
      this.readyState = "open";
      this.emitReserved("open");
      if (this.readyState !== "open") return;
      this._resetPingTimer();
      this._flush();
      if (
        this.opts.upgrade !== false &&
        this.transport.name === "polling" &&
        this.upgrades.includes("websocket")
      ) {
        this._probe("websocket");
      }
    }

    // The server pings every pingInterval; no ping within pingInterval +
    // pingTimeout means the connection is gone.
    _resetPingTimer() {
      clearTimeout(this._pingTimer);
      const delay = this.pingInterval + this.pingTimeout;
      this._pingDeadline = Date.now() + delay;
      this._pingTimer = setTimeout(() => this._onClose("ping timeout"), delay);
    }

    // Timers of a background tab can fire late; a send checks the clock
    // so it does not go into a connection that is already dead.
    _hasPingExpired() {
      if (!this._pingDeadline || Date.now() <= this._pingDeadline) return false;
      this._pingDeadline = 0;
      setTimeout(() => this._onClose("ping timeout"));
      return true;
    }

    write(data) {
      this._send("message", data);
      return this;
    }

    send(data) {
      return this.write(data);
    }

    _send(type, data) {
      if (this.readyState === "closing" || this.readyState === "closed") return;
      const packet = data === undefined ? { type } : { type, data };
      this.writeBuffer.push(packet);
      this.emitReserved("packetCreate", packet);
      this._flush();
    }

    _flush() {
      const transport = this.transport;
      if (
        this.readyState === "closed" ||
        !transport ||
        !transport.writable ||
        this.upgrading ||
        !this.writeBuffer.length
      ) {
        return;
      }
      const batch = this.writeBuffer.splice(0, this._batchLength());
      transport.send(batch);
      this.emitReserved("flush");
      if (!this.writeBuffer.length && transport.writable) this.emitReserved("drain");
    }

    // A polling POST carries at most maxPayload bytes (the spec's advice);
    // one oversized packet still goes, alone.
    _batchLength() {
      const buffer = this.writeBuffer;
      if (this.transport.name !== "polling" || !this.maxPayload) return buffer.length;
      let size = 0;
      for (let i = 0; i < buffer.length; i++) {
        const data = buffer[i].data;
        size += 2; // type and separator
        if (typeof data === "string") size += utf8Length(data);
        else if (data !== undefined) size += Math.ceil(bytesOf(data).length / 3) * 4;
        if (i > 0 && size > this.maxPayload) return i;
      }
      return buffer.length;
    }

    _onDrain() {
      if (this.writeBuffer.length) this._flush();
      else this.emitReserved("drain");
    }

    _probe(name) {
      const probe = new TRANSPORTS[name](this);
      let finished = false;
      const stop = () => {
        finished = true;
        probe.off();
        this.off("close", onEngineClose);
      };
      const fail = (why) => {
        if (finished) return;
        stop();
        probe.close();
        this.upgrading = false;
        if (this.transport) this.transport.resume();
        const error = new Error("probe error: " + why);
        error.transport = name;
        this.emitReserved("upgradeError", error);
        this._flush();
      };
      const onEngineClose = () => fail("socket closed");
      probe.once("open", () => {
        probe.send([{ type: "ping", data: "probe" }]);
        probe.once("packet", (packet) => {
          if (packet.type !== "pong" || packet.data !== "probe") {
            return fail("unexpected " + packet.type);
          }
          // From here until the switch, messages wait in writeBuffer.
          this.upgrading = true;
          this.emitReserved("upgrading", probe);
          this.transport.pause(() => {
            if (finished || this.readyState === "closed") return;
            stop();
            this._setTransport(probe);
            probe.send([{ type: "upgrade" }]);
            this.upgrading = false;
            this.emitReserved("upgrade", probe);
            this._flush();
          });
        });
      });
      probe.once("error", (error) => fail(error.message));
      probe.once("close", () => fail("transport closed"));
      this.once("close", onEngineClose);
      probe.open();
    }

    // Closes once what is buffered has been sent (and an upgrade under way
    // has finished), as a client-side disconnect must deliver its packet.
    close() {
      if (this.readyState !== "opening" && this.readyState !== "open") return this;
      this.readyState = "closing";
      const finish = () => this._onClose("forced close");
      const afterUpgrade = () => {
        if (!this.upgrading) return finish();
        const done = () => {
          this.off("upgrade", done);
          this.off("upgradeError", done);
          finish();
        };
        this.on("upgrade", done);
        this.on("upgradeError", done);
      };
      const busy =
        this.writeBuffer.length ||
        (this.transport && this.transport.state === "open" && !this.transport.writable);
      if (busy) this.once("drain", afterUpgrade);
      else afterUpgrade();
      return this;
    }

    _onError(error) {
      if (this.readyState === "closed") return;
      this.emitReserved("error", error);
      this._onClose(error.reason || "transport error", error);
    }

    _onClose(reason, description) {
      if (this.readyState === "closed") return;
      clearTimeout(this._pingTimer);
      this._pingDeadline = 0;
      if (this._offline) removeEventListener("offline", this._offline, false);
      const transport = this.transport;
      this.readyState = "closed";
      this.id = null;
      this.writeBuffer = [];
      this.upgrading = false;
      if (transport) {
        transport.off();
        transport.close();
      }
      this.emitReserved("close", reason, description);
    }
  }

  // ---------------------------------------------------------------------
  // Socket.IO v5 packets
  // ---------------------------------------------------------------------

  const CONNECT = 0;
  const DISCONNECT = 1;
  const EVENT = 2;
  const ACK = 3;
  const CONNECT_ERROR = 4;
  const BINARY_EVENT = 5;
  const BINARY_ACK = 6;

  const RESERVED = new Set([
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
  ]);

  const isPlainObject = (x) => Object.prototype.toString.call(x) === "[object Object]";

  const hasBinary = (value, depth = 0) => {
    if (!value || typeof value !== "object" || depth > 1000) return false;
    if (isBinary(value)) return true;
    if (Array.isArray(value)) return value.some((v) => hasBinary(v, depth + 1));
    if (typeof value.toJSON === "function") {
      const json = value.toJSON();
      return json !== value && hasBinary(json, depth + 1);
    }
    return Object.keys(value).some((k) => hasBinary(value[k], depth + 1));
  };

  // Replaces each binary value with a placeholder, numbered in order of a
  // depth-first walk, and collects the values as attachments.
  const extractBinary = (value, attachments) => {
    if (!value || typeof value !== "object") return value;
    if (isBinary(value)) {
      attachments.push(value);
      return { _placeholder: true, num: attachments.length - 1 };
    }
    if (Array.isArray(value)) return value.map((v) => extractBinary(v, attachments));
    if (typeof value.toJSON === "function") {
      const json = value.toJSON();
      return json === value ? json : extractBinary(json, attachments);
    }
    const out = {};
    for (const key of Object.keys(value)) out[key] = extractBinary(value[key], attachments);
    return out;
  };

  // A packet as frames: the text, then one frame per attachment.
  const encodeSio = (packet) => {
    let { type, data } = packet;
    const attachments = [];
    if ((type === EVENT || type === ACK) && hasBinary(data)) {
      type += 3; // BINARY_EVENT, BINARY_ACK
      data = extractBinary(data, attachments);
    }
    let text = String(type);
    if (type === BINARY_EVENT || type === BINARY_ACK) text += attachments.length + "-";
    if (packet.nsp && packet.nsp !== "/") text += packet.nsp + ",";
    if (packet.id != null) text += packet.id;
    if (data !== undefined) text += JSON.stringify(data);
    return [text, ...attachments];
  };

  const badPacket = (message, detail) => failure(message, "parse error", detail);

  const validPayload = (type, data) => {
    switch (type) {
      case CONNECT:
        return isPlainObject(data);
      case CONNECT_ERROR:
        return typeof data === "string" || isPlainObject(data);
      case EVENT:
      case BINARY_EVENT:
        return (
          Array.isArray(data) &&
          (typeof data[0] === "number" ||
            (typeof data[0] === "string" && !RESERVED.has(data[0])))
        );
      case ACK:
      case BINARY_ACK:
        return Array.isArray(data);
      default:
        return false; // DISCONNECT has no payload
    }
  };

  // <type>[<attachments>-][<nsp>,][<id>][<json>]
  const decodeSioText = (text) => {
    if (!/^[0-6]/.test(text)) throw badPacket("unknown packet type", text);
    const packet = { type: text.charCodeAt(0) - 48, nsp: "/" };
    let rest = text.slice(1);
    if (packet.type === BINARY_EVENT || packet.type === BINARY_ACK) {
      const m = /^(\d{1,6})-/.exec(rest);
      if (!m) throw badPacket("illegal attachments", text);
      packet.attachments = Number(m[1]);
      rest = rest.slice(m[0].length);
    }
    if (rest[0] === "/") {
      const comma = rest.indexOf(",");
      packet.nsp = comma < 0 ? rest : rest.slice(0, comma);
      rest = comma < 0 ? "" : rest.slice(comma + 1);
    }
    const id = /^\d+/.exec(rest);
    if (id) {
      packet.id = Number(id[0]);
      rest = rest.slice(id[0].length);
    }
    if (rest) {
      let data;
      try {
        data = JSON.parse(rest);
      } catch (error) {
        throw badPacket("invalid payload", text);
      }
      if (!validPayload(packet.type, data)) throw badPacket("invalid payload", text);
      packet.data = data;
    } else if (packet.type !== CONNECT && packet.type !== DISCONNECT) {
      // Events and acks must carry an array, errors a message.
      throw badPacket("missing payload", text);
    }
    return packet;
  };

  // Puts the attachments back where their placeholders are.
  const insertBinary = (value, attachments) => {
    if (!value || typeof value !== "object") return value;
    if (value._placeholder === true) {
      const n = value.num;
      if (!Number.isInteger(n) || n < 0 || n >= attachments.length) {
        throw badPacket("illegal attachments");
      }
      return attachments[n];
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = insertBinary(value[i], attachments);
    } else {
      for (const key of Object.keys(value)) value[key] = insertBinary(value[key], attachments);
    }
    return value;
  };

  // Messages in, whole packets out: a binary packet waits for its
  // attachments, which arrive as the next binary messages.
  class Decoder {
    constructor() {
      this.pending = null;
    }

    reset() {
      this.pending = null;
    }

    // The packet completed by `data`, null while attachments are still
    // due; throws on anything malformed.
    add(data) {
      if (typeof data === "string") {
        if (this.pending) throw badPacket("text while attachments are due");
        const packet = decodeSioText(data);
        if (packet.attachments === undefined) return packet;
        this.pending = { packet, attachments: [] };
        return this._complete();
      }
      if (data instanceof ArrayBuffer) {
        if (!this.pending) throw badPacket("binary without a packet");
        this.pending.attachments.push(data);
        return this._complete();
      }
      throw badPacket("empty message");
    }

    _complete() {
      const { packet, attachments } = this.pending;
      if (attachments.length < packet.attachments) return null;
      this.pending = null;
      packet.data = insertBinary(packet.data, attachments);
      delete packet.attachments;
      return packet;
    }
  }

  // ---------------------------------------------------------------------
  // Manager: one Engine.IO connection, reconnection, namespaces on it
  // ---------------------------------------------------------------------

  class Manager extends Emitter {
    constructor(uri, opts) {
      super();
      if (uri && typeof uri === "object") {
        opts = uri;
        uri = undefined;
      }
      opts = opts || {};
      opts.path = opts.path || "/socket.io";
      this.opts = opts;
      this.uri = uri;
      this._url = parseUrl(uri);
      this.nsps = {};
      this.subs = [];
      this.engine = null;
      this.reconnection(opts.reconnection !== false);
      this.reconnectionAttempts(opts.reconnectionAttempts || Infinity);
      this.reconnectionDelay(opts.reconnectionDelay || 1000);
      this.reconnectionDelayMax(opts.reconnectionDelayMax || 5000);
      this.randomizationFactor(opts.randomizationFactor ?? 0.5);
      this.timeout(opts.timeout == null ? 20000 : opts.timeout);
      this.attempts = 0;
      this._readyState = "closed";
      this._reconnecting = false;
      this.skipReconnect = false;
      this.decoder = new Decoder();
      this._outbox = [];
      this._generation = 0;
      this._autoConnect = opts.autoConnect !== false;
      if (this._autoConnect) this.open();
    }

    // Getter without an argument, chainable setter with one.
    reconnection(v) {
      if (!arguments.length) return this._reconnection;
      this._reconnection = !!v;
      if (!v) this.skipReconnect = true;
      return this;
    }

    reconnectionAttempts(v) {
      if (v === undefined) return this._reconnectionAttempts;
      this._reconnectionAttempts = v;
      return this;
    }

    reconnectionDelay(v) {
      if (v === undefined) return this._reconnectionDelay;
      this._reconnectionDelay = v;
      return this;
    }

    reconnectionDelayMax(v) {
      if (v === undefined) return this._reconnectionDelayMax;
      this._reconnectionDelayMax = v;
      return this;
    }

    randomizationFactor(v) {
      if (v === undefined) return this._randomizationFactor;
      this._randomizationFactor = v;
      return this;
    }

    timeout(v) {
      if (!arguments.length) return this._timeout;
      this._timeout = v;
      return this;
    }

    // Exponential backoff: reconnectionDelay doubled per attempt, spread by
    // ±randomizationFactor so that clients dropped together do not all
    // come back together, and capped at reconnectionDelayMax.
    _nextDelay() {
      const base = Math.min(this._reconnectionDelay * 2 ** this.attempts, 2 ** 31);
      this.attempts++;
      const spread = Math.min(Math.max(this._randomizationFactor, 0), 1);
      const jittered = base * (1 + spread * (2 * Math.random() - 1));
      return Math.floor(Math.min(jittered, this._reconnectionDelayMax));
    }

    open(fn) {
      if (this._readyState === "open" || this._readyState === "opening") return this;
      const engine = new Engine(this._url, this.opts);
      this.engine = engine;
      this._readyState = "opening";
      this.skipReconnect = false;
      let settled = false;
      const fail = (error) => {
        if (settled) return;
        settled = true;
        this._cleanup();
        this._readyState = "closed";
        this.emitReserved("error", error);
        if (fn) fn(error);
        else this._maybeReconnectOnOpen();
      };
      this.subs.push(
        subscribe(engine, "open", () => {
          settled = true;
          this._onopen();
          if (fn) fn();
        }),
        subscribe(engine, "error", fail),
        // A session that ends before it opened, without an error.
        subscribe(engine, "close", (reason) => fail(failure(reason, "transport error"))),
      );
      if (this._timeout !== false) {
        const timer = setTimeout(() => {
          fail(new Error("timeout"));
          engine.close();
        }, this._timeout);
        this.subs.push(() => clearTimeout(timer));
      }
      engine.open();
      return this;
    }

    connect(fn) {
      return this.open(fn);
    }

    _maybeReconnectOnOpen() {
      // Only the first connection: a failed reconnection schedules its own.
      if (!this._reconnecting && this._reconnection && this.attempts === 0) this.reconnect();
    }

    _onopen() {
      this._cleanup();
      this._readyState = "open";
      this.emitReserved("open");
      const engine = this.engine;
      this.subs.push(
        subscribe(engine, "ping", () => this.emitReserved("ping")),
        subscribe(engine, "data", (data) => this._ondata(data)),
        subscribe(engine, "error", (error) => this.emitReserved("error", error)),
        subscribe(engine, "close", (reason, description) => this._onclose(reason, description)),
      );
    }

    _ondata(data) {
      let packet;
      // Whatever the server sends, a bad packet closes this connection
      // (and reconnection starts); nothing escapes to the page.
      try {
        packet = this.decoder.add(data);
      } catch (error) {
        this.emitReserved("error", error);
        this._onclose("parse error", error);
        return;
      }
      if (packet) this.emitReserved("packet", packet);
    }

    socket(nsp, opts) {
      let socket = this.nsps[nsp];
      if (!socket) {
        socket = new Socket(this, nsp, opts);
        this.nsps[nsp] = socket;
      } else if (this._autoConnect && !socket.active) {
        socket.connect();
      }
      return socket;
    }

    // A socket left: the connection closes with the last active one.
    _destroy() {
      for (const nsp of Object.keys(this.nsps)) {
        if (this.nsps[nsp].active) return;
      }
      this._close();
    }

    // Sends a Socket.IO packet. A Blob has to be read before it can be
    // sent (base64 on polling); packets after it wait, so the server sees
    // them in the order they were emitted.
    _packet(packet) {
      const frames = encodeSio(packet);
      if (!this._outbox.length && !frames.some(isBlob)) return this._write(frames);
      const entry = { frames: null };
      const generation = this._generation;
      this._outbox.push(entry);
      Promise.all(frames.map((f) => (isBlob(f) ? f.arrayBuffer() : f)))
        .then(
          (read) => {
            entry.frames = read;
          },
          (error) => {
            entry.frames = [];
            this.emitReserved("error", error);
          },
        )
        .then(() => {
          if (generation !== this._generation) return;
          while (this._outbox.length && this._outbox[0].frames) {
            this._write(this._outbox.shift().frames);
          }
        });
    }

    _write(frames) {
      if (!this.engine) return;
      for (const frame of frames) this.engine.write(frame);
    }

    _cleanup() {
      for (const unsubscribe of this.subs) unsubscribe();
      this.subs.length = 0;
      this.decoder.reset();
      // Packets still reading a Blob belonged to the connection that ended.
      this._outbox = [];
      this._generation++;
    }

    _close() {
      this.skipReconnect = true;
      this._reconnecting = false;
      this._onclose("forced close");
    }

    disconnect() {
      return this._close();
    }

    close() {
      return this._close();
    }

    _onclose(reason, description) {
      this._cleanup();
      if (this.engine) this.engine.close();
      this.attempts = 0;
      const wasOpen = this._readyState === "open";
      this._readyState = "closed";
      if (wasOpen || reason !== "forced close") this.emitReserved("close", reason, description);
      if (this._reconnection && !this.skipReconnect) this.reconnect();
    }

    reconnect() {
      if (this._reconnecting || this.skipReconnect) return this;
      if (this.attempts >= this._reconnectionAttempts) {
        this.attempts = 0;
        this._reconnecting = false;
        this.emitReserved("reconnect_failed");
        return this;
      }
      const delay = this._nextDelay();
      this._reconnecting = true;
      const timer = setTimeout(() => {
        if (this.skipReconnect) return;
        this.emitReserved("reconnect_attempt", this.attempts);
        if (this.skipReconnect) return; // a listener gave up
        this.open((error) => {
          if (error) {
            this._reconnecting = false;
            this.emitReserved("reconnect_error", error);
            this.reconnect();
          } else {
            const attempts = this.attempts;
            this._reconnecting = false;
            this.attempts = 0;
            this.emitReserved("reconnect", attempts);
          }
        });
      }, delay);
      this.subs.push(() => clearTimeout(timer));
      return this;
    }
  }

  // ---------------------------------------------------------------------
  // Socket: one namespace on a Manager's connection
  // ---------------------------------------------------------------------

  class Socket extends Emitter {
    constructor(io, nsp, opts) {
      super();
      this.io = io;
      this.nsp = nsp;
      this.id = undefined;
      this.connected = false;
      this.recovered = false;
      this.receiveBuffer = [];
      this.sendBuffer = [];
      this.ids = 0;
      this.acks = {};
      this.flags = {};
      this.subs = undefined;
      this._opts = Object.assign({}, opts);
      if (opts && opts.auth) this.auth = opts.auth;
      // Connection state recovery: the server's id for this session and
      // the offset of the last broadcast seen, sent back on reconnecting.
      this._pid = undefined;
      this._lastOffset = undefined;
      this._anyListeners = [];
      this._anyOutgoingListeners = [];
      // The connection a CONNECT went out on: a second one for the same
      // namespace is a protocol error that makes the server close it.
      this._connectingOn = null;
      if (io._autoConnect) this.open();
    }

    get disconnected() {
      return !this.connected;
    }

    // Subscribed to its manager: connected, or trying to be.
    get active() {
      return !!this.subs;
    }

    get volatile() {
      this.flags.volatile = true;
      return this;
    }

    timeout(ms) {
      this.flags.timeout = ms;
      return this;
    }

    compress(compress) {
      this.flags.compress = compress;
      return this;
    }

    _subEvents() {
      if (this.subs) return;
      const io = this.io;
      this.subs = [
        subscribe(io, "open", () => this._onopen()),
        subscribe(io, "packet", (packet) => this._onpacket(packet)),
        subscribe(io, "error", (error) => this._onerror(error)),
        subscribe(io, "close", (reason, description) => this._onclose(reason, description)),
      ];
    }

    connect() {
      if (this.connected) return this;
      this._subEvents();
      if (!this.io._reconnecting) this.io.open();
      if (this.io._readyState === "open") this._onopen();
      return this;
    }

    open() {
      return this.connect();
    }

    send(...args) {
      return this.emit("message", ...args);
    }

    emit(event, ...args) {
      if (RESERVED.has(event)) throw new Error('"' + event + '" is a reserved event name');
      args.unshift(event);
      const packet = { type: EVENT, data: args };
      if (typeof args[args.length - 1] === "function") {
        const id = this.ids++;
        this._registerAck(id, args.pop());
        packet.id = id;
      }
      const engine = this.io.engine;
      const writable = !!(
        engine &&
        engine.readyState === "open" &&
        engine.transport &&
        engine.transport.writable
      );
      const connected = this.connected && !(engine && engine._hasPingExpired());
      if (this.flags.volatile && !writable) {
        // Volatile: dropped rather than buffered when it cannot go now.
      } else if (connected) {
        this._notifyOutgoing(packet);
        this._sendPacket(packet);
      } else {
        this.sendBuffer.push(packet);
      }
      this.flags = {};
      return this;
    }

    emitWithAck(event, ...args) {
      return new Promise((resolve, reject) => {
        const settle = (error, value) => (error ? reject(error) : resolve(value));
        settle.withError = true;
        this.emit(event, ...args, settle);
      });
    }

    _registerAck(id, ack) {
      const timeout = this.flags.timeout ?? this._opts.ackTimeout;
      if (timeout === undefined) {
        this.acks[id] = ack;
        return;
      }
      const timer = setTimeout(() => {
        delete this.acks[id];
        this.sendBuffer = this.sendBuffer.filter((p) => p.id !== id);
        invoke(ack, this, [new Error("operation has timed out")]);
      }, timeout);
      const answered = (...args) => {
        clearTimeout(timer);
        ack.apply(this, args);
      };
      answered.withError = true;
      this.acks[id] = answered;
    }

    _sendPacket(packet) {
      packet.nsp = this.nsp;
      this.io._packet(packet);
    }

    _onopen() {
      if (this._connectingOn === this.io.engine) return;
      this._connectingOn = this.io.engine;
      if (typeof this.auth === "function") {
        // The callback may come late: only into the connection it was
        // asked for (a second CONNECT on a newer one would be a protocol
        // error), and once.
        const engine = this.io.engine;
        let called = false;
        this.auth((data) => {
          if (called || this.io.engine !== engine || engine.readyState !== "open") return;
          called = true;
          this._sendConnect(data);
        });
      } else {
        this._sendConnect(this.auth);
      }
    }

    _sendConnect(data) {
      if (this._pid) data = Object.assign({ pid: this._pid, offset: this._lastOffset }, data);
      this._sendPacket({ type: CONNECT, data });
    }

    _onerror(error) {
      if (!this.connected) this.emitReserved("connect_error", error);
    }

    _onclose(reason, description) {
      const was = this.connected;
      this.connected = false;
      this._connectingOn = null;
      this.id = undefined;
      if (was) this.emitReserved("disconnect", reason, description);
      this._clearAcks();
    }

    // Acks of packets already sent will never come: with an error-first
    // callback (timeout, emitWithAck) say so now. Packets still in
    // sendBuffer go out on reconnection and keep theirs.
    _clearAcks() {
      for (const id of Object.keys(this.acks)) {
        if (this.sendBuffer.some((p) => String(p.id) === id)) continue;
        const ack = this.acks[id];
        delete this.acks[id];
        if (ack.withError) invoke(ack, this, [new Error("socket has been disconnected")]);
      }
    }

    _onpacket(packet) {
      if (packet.nsp !== this.nsp) return;
      switch (packet.type) {
        case CONNECT:
          if (packet.data && typeof packet.data.sid === "string") {
            const pid = typeof packet.data.pid === "string" ? packet.data.pid : undefined;
            this._onconnect(packet.data.sid, pid);
          } else {
            this.emitReserved(
              "connect_error",
              new Error("invalid CONNECT reply: the server is not a Socket.IO v3+ server"),
            );
          }
          break;
        case EVENT:
        case BINARY_EVENT:
          this._onevent(packet);
          break;
        case ACK:
        case BINARY_ACK:
          this._onack(packet);
          break;
        case DISCONNECT:
          this._destroy();
          this._onclose("io server disconnect");
          break;
        case CONNECT_ERROR: {
          this._destroy();
          const data = packet.data;
          const error = new Error(typeof data === "string" ? data : String(data.message));
          if (typeof data === "object") error.data = data.data;
          this.emitReserved("connect_error", error);
          break;
        }
      }
    }

    _onevent(packet) {
      const args = packet.data.slice();
      if (packet.id != null) args.push(this._ack(packet.id));
      if (this.connected) this._emitEvent(args);
      else this.receiveBuffer.push(Object.freeze(args));
    }

    _emitEvent(args) {
      for (const listener of this._anyListeners.slice()) invoke(listener, this, args);
      this.emitReserved(...args);
      // With recovery on, the server appends each broadcast's offset as
      // its last argument.
      if (this._pid && args.length && typeof args[args.length - 1] === "string") {
        this._lastOffset = args[args.length - 1];
      }
    }

    // The callback the server's ack request becomes; answers once.
    _ack(id) {
      let sent = false;
      return (...args) => {
        if (sent) return;
        sent = true;
        this._sendPacket({ type: ACK, id, data: args });
      };
    }

    _onack(packet) {
      const ack = this.acks[packet.id];
      if (typeof ack !== "function") return;
      delete this.acks[packet.id];
      const args = packet.data.slice();
      if (ack.withError) args.unshift(null);
      invoke(ack, this, args);
    }

    _onconnect(id, pid) {
      this.id = id;
      this.recovered = !!pid && this._pid === pid;
      this._pid = pid;
      this.connected = true;
      for (const args of this.receiveBuffer) this._emitEvent(args);
      this.receiveBuffer = [];
      for (const packet of this.sendBuffer) {
        this._notifyOutgoing(packet);
        this._sendPacket(packet);
      }
      this.sendBuffer = [];
      this.emitReserved("connect");
    }

    _destroy() {
      this._connectingOn = null;
      if (this.subs) {
        for (const unsubscribe of this.subs) unsubscribe();
        this.subs = undefined;
      }
      this.io._destroy(this);
    }

    disconnect() {
      if (this.connected) this._sendPacket({ type: DISCONNECT });
      this._destroy();
      if (this.connected) this._onclose("io client disconnect");
      return this;
    }

    close() {
      return this.disconnect();
    }

    // ---- catch-all listeners ----

    onAny(listener) {
      this._anyListeners.push(listener);
      return this;
    }

    prependAny(listener) {
      this._anyListeners.unshift(listener);
      return this;
    }

    offAny(listener) {
      this._anyListeners = listener ? this._anyListeners.filter((l) => l !== listener) : [];
      return this;
    }

    listenersAny() {
      return this._anyListeners.slice();
    }

    onAnyOutgoing(listener) {
      this._anyOutgoingListeners.push(listener);
      return this;
    }

    prependAnyOutgoing(listener) {
      this._anyOutgoingListeners.unshift(listener);
      return this;
    }

    offAnyOutgoing(listener) {
      this._anyOutgoingListeners = listener
        ? this._anyOutgoingListeners.filter((l) => l !== listener)
        : [];
      return this;
    }

    listenersAnyOutgoing() {
      return this._anyOutgoingListeners.slice();
    }

    _notifyOutgoing(packet) {
      for (const listener of this._anyOutgoingListeners.slice()) {
        invoke(listener, this, packet.data);
      }
    }
  }

  // ---------------------------------------------------------------------
  // io(): one Manager per server, shared by the namespaces on it
  // ---------------------------------------------------------------------

  // The server's origin, the namespace (the URL's path) and the query of a
  // `io()` argument. Without one, the page's own server.
  function parseUrl(uri) {
    const here = typeof location !== "undefined" ? location : null;
    if (uri == null) {
      if (!here) throw new Error("io(): a URL is needed outside a page");
      uri = here.protocol + "//" + here.host;
    } else if ((uri = String(uri)).startsWith("//")) {
      uri = (here ? here.protocol : "https:") + uri;
    } else if (uri.startsWith("/")) {
      if (!here) throw new Error("io(): a relative URL needs a page");
      uri = here.protocol + "//" + here.host + uri;
    } else if (!/^(https?|wss?):\/\//i.test(uri)) {
      uri = (here ? here.protocol : "https:") + "//" + uri;
    }
    const url = new URL(uri);
    const scheme = url.protocol.slice(0, -1).toLowerCase();
    const secure = scheme === "https" || scheme === "wss";
    return {
      secure,
      host: url.host,
      origin: scheme + "://" + url.hostname + ":" + (url.port || (secure ? "443" : "80")),
      nsp: url.pathname || "/",
      query: url.search.slice(1),
    };
  }

  const managers = {};

  function io(uri, opts) {
    if (uri && typeof uri === "object") {
      opts = uri;
      uri = undefined;
    }
    opts = opts || {};
    const url = parseUrl(uri);
    const id = url.origin + (opts.path || "/socket.io");
    const cached = managers[id];
    const fresh =
      opts.forceNew ||
      opts["force new connection"] ||
      opts.multiplex === false ||
      (cached && url.nsp in cached.nsps);
    let manager;
    if (fresh) {
      manager = new Manager(uri, opts);
    } else {
      manager = cached || (managers[id] = new Manager(uri, opts));
    }
    return manager.socket(url.nsp, opts);
  }

  return Object.assign(io, { io, connect: io, Manager, Socket, protocol: 5 });
})();
