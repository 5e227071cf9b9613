//! The native API's one error shape: `{"error":{"type","code","message","param"}}`.

use crate::service::ServiceError;
use crate::service::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
}

/// The body of every error the native API returns.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `idempotency_error`, `rate_limit_error` or `api_error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub code: String,
    pub message: String,
    /// The request field the error is about, when there is one.
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> ApiError {
        self.param = Some(param.into());
        self
    }

    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "malformed_request",
            message,
        )
    }

    pub fn bad_param(param: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "parameter_invalid",
            message,
        )
        .with_param(param)
    }

    pub fn missing_param(param: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "parameter_missing",
            format!("{param} is required"),
        )
        .with_param(param)
    }

    pub fn too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "body_too_large",
            "the request body is larger than 1 MiB",
        )
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            code,
            message,
        )
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "permission_error", code, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            message,
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "internal_error",
            "something went wrong on our side; the request can be retried",
        )
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "database_unavailable",
            "the database is not reachable",
        )
    }
}

impl From<super::ratelimit::Throttled> for ApiError {
    fn from(t: super::ratelimit::Throttled) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limited",
            format!(
                "too many requests with this API key; retry in {} s",
                t.retry_after_secs
            ),
        )
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> ApiError {
        match err {
            ServiceError::Invalid { param, message } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_error",
                "parameter_invalid",
                format!("{param} {message}"),
            )
            .with_param(param),
            ServiceError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
            ServiceError::InvalidState { message, .. } => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_request_error",
                "invalid_state",
                message,
            ),
            ServiceError::Conflict(message) => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_request_error",
                "conflict",
                message,
            ),
            ServiceError::Store(e) => e.into(),
            ServiceError::Forbidden(e) => ApiError::forbidden("role_forbidden", e.to_string()),
            e @ ServiceError::PayableAmountsExhausted { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_request_error",
                "payable_amounts_exhausted",
                e.to_string(),
            )
            .with_param("amount"),
            e @ ServiceError::CreditShort(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request_error",
                "credit_short",
                e.to_string(),
            )
            .with_param("payment"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound => ApiError::not_found("no such object"),
            StoreError::Duplicate(what) => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_request_error",
                "duplicate",
                format!("an object with these values already exists ({what})"),
            ),
            StoreError::Unavailable(_) => {
                tracing::error!(error = %err, "database unavailable");
                ApiError::unavailable()
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                kind: self.kind.to_string(),
                code: self.code.to_string(),
                message: self.message,
                param: self.param,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
