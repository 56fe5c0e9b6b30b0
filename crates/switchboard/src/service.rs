//! The server as a tower `Service`/`Layer`: the browser client's files,
//! then the engine, then whatever service it wraps.

use std::future::{Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;
use switchboard_engine::{EngineService, NotFound};
use tower_layer::Layer;
use tower_service::Service;

use crate::client_js;
use crate::io::Io;

/// See [`Io::layer`].
#[derive(Debug, Clone)]
pub struct IoLayer {
    io: Io,
}

impl IoLayer {
    pub(crate) fn new(io: Io) -> Self {
        IoLayer { io }
    }
}

impl<S> Layer<S> for IoLayer {
    type Service = IoService<EngineService<S>>;

    fn layer(&self, inner: S) -> Self::Service {
        IoService {
            io: self.io.clone(),
            inner: self.io.engine().layer().layer(inner),
        }
    }
}

/// Serves the browser client's files, and passes every other request on.
#[derive(Debug, Clone)]
pub struct IoService<S> {
    io: Io,
    inner: S,
}

impl IoService<EngineService<NotFound>> {
    pub(crate) fn standalone(io: Io) -> Self {
        let inner = io.engine().service();
        IoService { io, inner }
    }
}

impl<S, B, RB> Service<Request<B>> for IoService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<Either<Full<Bytes>, RB>>;
    type Error = S::Error;
    type Future = IoFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if self.io.0.config.serve_client {
            let base = self.io.0.config.engine.path();
            if let Some(file) = client_js::file_for(base, request.uri().path()) {
                let response = client_js::respond(file, request.method(), request.headers());
                return IoFuture::File {
                    future: std::future::ready(Ok(response)),
                };
            }
        }
        IoFuture::Inner {
            future: self.inner.call(request),
        }
    }
}

pin_project! {
    /// Future of [`IoService`].
    #[project = IoFutureProj]
    pub enum IoFuture<F, E> {
        File { future: Ready<Result<Response<Full<Bytes>>, E>> },
        Inner { #[pin] future: F },
    }
}

impl<F, RB, E> Future for IoFuture<F, E>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<Either<Full<Bytes>, RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            IoFutureProj::File { future } => Pin::new(future)
                .poll(cx)
                .map(|r| r.map(|r| r.map(Either::Left))),
            IoFutureProj::Inner { future } => {
                future.poll(cx).map(|r| r.map(|r| r.map(Either::Right)))
            }
        }
    }
}

impl<F, E> std::fmt::Debug for IoFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IoFuture")
    }
}
