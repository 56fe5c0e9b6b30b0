//! The test files and the fake Engine.IO endpoint `/bad/` of the Rust test
//! server (the Node one has the same in `reference-server.mjs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use super::repo_root;

/// `tests/browser/bad-cases.json`.
#[derive(Debug, Deserialize)]
struct BadCases {
    cases: HashMap<String, Option<String>>,
    handshake: String,
    hold: String,
    silent: String,
}

#[derive(Debug)]
struct Bad {
    cases: BadCases,
    /// Set when the server stops: held long-polls end.
    released: watch::Receiver<bool>,
    // Touched once per fake request, never across an await.
    state: Mutex<BadState>,
}

#[derive(Debug, Default)]
struct BadState {
    /// Handshakes per `run` query value: the first one of a run misbehaves.
    runs: HashMap<String, u32>,
    sessions: HashMap<String, BadSession>,
    next: u64,
}

#[derive(Debug)]
struct BadSession {
    case: String,
    first: bool,
    gets: u32,
}

pub(super) fn pages(released: watch::Receiver<bool>) -> Router {
    let dir = repo_root().join("tests").join("browser");
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("cannot read tests/browser/{name}: {e}"))
    };
    let file = |content_type: &'static str, body: String| {
        get(move || async move { ([(header::CONTENT_TYPE, content_type)], body) })
    };
    let cases = read("bad-cases.json");
    let bad = Arc::new(Bad {
        cases: serde_json::from_str(&cases).unwrap(),
        released,
        state: Mutex::default(),
    });
    Router::new()
        .route(
            "/client.test.html",
            file("text/html; charset=utf-8", read("client.test.html")),
        )
        .route(
            "/tutorial.html",
            file("text/html; charset=utf-8", read("tutorial.html")),
        )
        .route("/bad-cases.json", file("application/json", cases))
        .route("/bad/", any(fake_engine))
        .with_state(bad)
}

/// A polling-only Engine.IO server that sends what `bad-cases.json` says:
/// handshake, then `40{"sid":…}`, then the case's garbage on the first
/// session of a run; later long-polls are held until the client leaves.
async fn fake_engine(
    State(bad): State<Arc<Bad>>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let text = |status: StatusCode, body: String| {
        (
            status,
            [
                (header::CONTENT_TYPE, "text/plain; charset=UTF-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    };
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    let Some(sid) = query.get("sid") else {
        if method != Method::GET || param("EIO") != "4" || param("transport") != "polling" {
            return text(StatusCode::BAD_REQUEST, String::new());
        }
        return match handshake(&bad, param("case"), param("run")) {
            Some(body) => text(StatusCode::OK, body),
            None => hold(&bad).await,
        };
    };
    let garbage = {
        let mut state = bad.state.lock().unwrap();
        let Some(session) = state.sessions.get_mut(sid) else {
            let unknown = r#"{"code":1,"message":"Session ID unknown"}"#;
            return text(StatusCode::BAD_REQUEST, unknown.to_owned());
        };
        if method == Method::POST {
            return text(StatusCode::OK, "ok".to_owned());
        }
        session.gets += 1;
        if session.gets == 1 {
            return text(StatusCode::OK, format!(r#"40{{"sid":"fake-{sid}"}}"#));
        }
        let garbage = bad.cases.cases.get(&session.case).cloned().flatten();
        garbage.filter(|_| session.gets == 2 && session.first)
    };
    match garbage {
        Some(garbage) => text(StatusCode::OK, garbage),
        None => hold(&bad).await,
    }
}

/// The handshake's body, or `None` for one never answered.
fn handshake(bad: &Bad, case: String, run: String) -> Option<String> {
    let mut state = bad.state.lock().unwrap();
    let count = state.runs.entry(run).or_default();
    *count += 1;
    let first = *count == 1;
    if case == bad.cases.handshake && first {
        return Some(r#"0{"sid":"#.to_owned());
    }
    if case == bad.cases.hold && first {
        return None;
    }
    state.next += 1;
    let sid = format!("bad{}", state.next);
    let (interval, timeout) = if case == bad.cases.silent {
        (200, 200)
    } else {
        (25_000, 20_000)
    };
    state.sessions.insert(
        sid.clone(),
        BadSession {
            case,
            first,
            gets: 0,
        },
    );
    let open = json!({
        "sid": sid, "upgrades": [], "pingInterval": interval,
        "pingTimeout": timeout, "maxPayload": 1_000_000,
    });
    Some(format!("0{open}"))
}

/// A request left unanswered until the client goes (and the future is
/// dropped) or the server stops.
async fn hold(bad: &Bad) -> Response {
    let mut released = bad.released.clone();
    let _ = released.wait_for(|stopping| *stopping).await;
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}
