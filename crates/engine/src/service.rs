//! The engine as a tower `Service` and `Layer`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::engine::{BoxError, Engine};

impl Engine {
    /// A layer that answers requests under the engine's path and passes all
    /// others to the service it wraps (an axum `Router`, for instance).
    pub fn layer(&self) -> EngineLayer {
        EngineLayer {
            engine: self.clone(),
        }
    }

    /// The engine on its own: requests outside its path get 404.
    pub fn service(&self) -> EngineService<NotFound> {
        EngineService {
            engine: self.clone(),
            inner: NotFound,
        }
    }
}

/// See [`Engine::layer`].
#[derive(Debug, Clone)]
pub struct EngineLayer {
    engine: Engine,
}

impl<S> Layer<S> for EngineLayer {
    type Service = EngineService<S>;

    fn layer(&self, inner: S) -> EngineService<S> {
        EngineService {
            engine: self.engine.clone(),
            inner,
        }
    }
}

/// Routes requests under the engine's path to it, and the rest to `S`.
#[derive(Debug, Clone)]
pub struct EngineService<S> {
    engine: Engine,
    inner: S,
}

impl<S> EngineService<S> {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl<S, B, RB> Service<Request<B>> for EngineService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Either<Full<Bytes>, RB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if self.engine.0.is_path(request.uri().path()) {
            let engine = self.engine.clone();
            ResponseFuture::Engine {
                future: Box::pin(async move { engine.handle(request).await }),
            }
        } else {
            ResponseFuture::Inner {
                future: self.inner.call(request),
            }
        }
    }
}

type EngineFuture = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

pin_project! {
    /// Future of [`EngineService`].
    #[project = ResponseFutureProj]
    pub enum ResponseFuture<F> {
        Engine { future: EngineFuture },
        Inner { #[pin] future: F },
    }
}

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<Either<Full<Bytes>, RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Engine { future } => {
                future.as_mut().poll(cx).map(|r| Ok(r.map(Either::Left)))
            }
            ResponseFutureProj::Inner { future } => {
                future.poll(cx).map(|r| r.map(|r| r.map(Either::Right)))
            }
        }
    }
}

impl std::fmt::Debug for ResponseFuture<()> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

/// Answers every request with 404; the inner service of [`Engine::service`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NOT_FOUND;
        std::future::ready(Ok(response))
    }
}
