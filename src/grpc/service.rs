//! The tonic service: each RPC delegates to its module and is counted in
//! `rokka_grpc_requests_total` with the API code it answered.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::metrics::GrpcMetrics;
use super::pb::messaging_service_server::MessagingService;
use super::pb::*;
use crate::remoting::context::Ctx;

/// The state every RPC sees.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) ctx: Arc<Ctx>,
    /// This broker's gRPC address, told to clients in routes.
    pub(crate) endpoint: SocketAddr,
    pub(crate) metrics: GrpcMetrics,
    /// Producers' Telemetry streams, for transaction back-checks.
    pub(crate) producers: super::orphans::Producers,
}

impl Service {
    pub(crate) fn new(ctx: Arc<Ctx>, endpoint: SocketAddr, metrics: GrpcMetrics) -> Service {
        Service {
            ctx,
            endpoint,
            metrics,
            producers: Default::default(),
        }
    }
}

pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

macro_rules! unary {
    ($self:ident, $name:literal, $resp:expr) => {{
        let resp = $resp;
        $self.metrics.count($name, resp.status.as_ref());
        Ok(Response::new(resp))
    }};
}

#[tonic::async_trait]
impl MessagingService for Service {
    async fn query_route(
        &self,
        req: Request<QueryRouteRequest>,
    ) -> Result<Response<QueryRouteResponse>, Status> {
        unary!(
            self,
            "QueryRoute",
            super::route::query_route(self, req.get_ref())
        )
    }

    async fn heartbeat(
        &self,
        req: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        unary!(
            self,
            "Heartbeat",
            super::telemetry::heartbeat(req.get_ref())
        )
    }

    async fn send_message(
        &self,
        req: Request<SendMessageRequest>,
    ) -> Result<Response<SendMessageResponse>, Status> {
        let peer = req.remote_addr();
        unary!(
            self,
            "SendMessage",
            super::send::send_message(self, peer, req.into_inner()).await
        )
    }

    async fn query_assignment(
        &self,
        req: Request<QueryAssignmentRequest>,
    ) -> Result<Response<QueryAssignmentResponse>, Status> {
        unary!(
            self,
            "QueryAssignment",
            super::route::query_assignment(self, req.get_ref())
        )
    }

    type ReceiveMessageStream = BoxStream<ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        req: Request<ReceiveMessageRequest>,
    ) -> Result<Response<Self::ReceiveMessageStream>, Status> {
        let deadline = super::receive::grpc_timeout(req.metadata());
        let responses = super::receive::receive(self, req.into_inner(), deadline).await;
        let status = responses.iter().find_map(|r| match &r.content {
            Some(receive_message_response::Content::Status(s)) => Some(s.clone()),
            _ => None,
        });
        self.metrics.count("ReceiveMessage", status.as_ref());
        let s = tokio_stream::iter(responses.into_iter().map(Ok));
        Ok(Response::new(Box::pin(s)))
    }

    async fn ack_message(
        &self,
        req: Request<AckMessageRequest>,
    ) -> Result<Response<AckMessageResponse>, Status> {
        unary!(self, "AckMessage", super::ack::ack(self, req.get_ref()))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        req: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<Response<ForwardMessageToDeadLetterQueueResponse>, Status> {
        unary!(
            self,
            "ForwardMessageToDeadLetterQueue",
            super::ack::forward_to_dlq(self, req.get_ref()).await
        )
    }

    type PullMessageStream = BoxStream<PullMessageResponse>;

    async fn pull_message(
        &self,
        req: Request<PullMessageRequest>,
    ) -> Result<Response<Self::PullMessageStream>, Status> {
        let deadline = super::receive::grpc_timeout(req.metadata());
        let responses = super::offset::pull(self, req.into_inner(), deadline).await;
        let status = responses.iter().find_map(|r| match &r.content {
            Some(pull_message_response::Content::Status(s)) => Some(s.clone()),
            _ => None,
        });
        self.metrics.count("PullMessage", status.as_ref());
        let s = tokio_stream::iter(responses.into_iter().map(Ok));
        Ok(Response::new(Box::pin(s)))
    }

    async fn update_offset(
        &self,
        req: Request<UpdateOffsetRequest>,
    ) -> Result<Response<UpdateOffsetResponse>, Status> {
        unary!(
            self,
            "UpdateOffset",
            super::offset::update_offset(self, req.get_ref())
        )
    }

    async fn get_offset(
        &self,
        req: Request<GetOffsetRequest>,
    ) -> Result<Response<GetOffsetResponse>, Status> {
        unary!(
            self,
            "GetOffset",
            super::offset::get_offset(self, req.get_ref())
        )
    }

    async fn query_offset(
        &self,
        req: Request<QueryOffsetRequest>,
    ) -> Result<Response<QueryOffsetResponse>, Status> {
        unary!(
            self,
            "QueryOffset",
            super::offset::query_offset(self, req.get_ref())
        )
    }

    async fn end_transaction(
        &self,
        req: Request<EndTransactionRequest>,
    ) -> Result<Response<EndTransactionResponse>, Status> {
        unary!(
            self,
            "EndTransaction",
            super::transaction::end_transaction(self, req.get_ref()).await
        )
    }

    type TelemetryStream = BoxStream<TelemetryCommand>;

    async fn telemetry(
        &self,
        req: Request<Streaming<TelemetryCommand>>,
    ) -> Result<Response<Self::TelemetryStream>, Status> {
        self.metrics.count("Telemetry", None);
        Ok(Response::new(super::telemetry::telemetry(
            self,
            req.into_inner(),
        )))
    }

    async fn notify_client_termination(
        &self,
        _req: Request<NotifyClientTerminationRequest>,
    ) -> Result<Response<NotifyClientTerminationResponse>, Status> {
        unary!(
            self,
            "NotifyClientTermination",
            NotifyClientTerminationResponse {
                status: super::ok()
            }
        )
    }

    async fn change_invisible_duration(
        &self,
        req: Request<ChangeInvisibleDurationRequest>,
    ) -> Result<Response<ChangeInvisibleDurationResponse>, Status> {
        unary!(
            self,
            "ChangeInvisibleDuration",
            super::ack::change_invisible(self, req.get_ref())
        )
    }
}
