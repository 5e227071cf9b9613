use crate::domain::payment::PaymentStatus;
use crate::store::StoreError;

/// What can go wrong in a service command; each front door maps it to its own HTTP shape.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks a rule; `param` names the field.
    #[error("{param}: {message}")]
    Invalid { param: String, message: String },
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The object is not in a state that allows the command.
    #[error("{message}")]
    InvalidState {
        status: PaymentStatus,
        message: String,
    },
    /// The request conflicts with what exists (a UTR recorded twice, a credit matched).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The actor's role does not allow the command; nothing was changed.
    #[error(transparent)]
    Forbidden(#[from] super::access::Forbidden),
    /// Every payable amount a UPI id offers for this requested amount is held by a pending
    /// payment in the same mode; the create is refused rather than underpriced.
    #[error(
        "every payable amount for {requested} on this UPI id ({highest} down to {lowest}) is \
         held by a pending payment; try again when one of them is paid or expires"
    )]
    PayableAmountsExhausted {
        /// Amounts as shown to people, with their currency ("50.00 INR").
        requested: String,
        highest: String,
        lowest: String,
    },
    /// A credit matched by hand is less than what the payment asks for (boxed: the error
    /// type stays small for every other result).
    #[error(
        "credit {} is {} {} but payment {} asks for {} {}: {} {} short; only a dashboard user \
         can match it anyway, confirming the shortfall",
        .0.credit_id, .0.credit, .0.currency, .0.payment_id, .0.needed, .0.currency,
        .0.shortfall, .0.currency
    )]
    CreditShort(Box<CreditShortfall>),
}

/// What a credit matched by hand lacks, as the refusal shows it.
#[derive(Debug, Clone)]
pub struct CreditShortfall {
    pub credit_id: String,
    pub payment_id: String,
    /// Decimal amounts in `currency` ("1.00").
    pub credit: String,
    pub needed: String,
    pub shortfall: String,
    pub currency: String,
}

impl ServiceError {
    pub fn invalid(param: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid {
            param: param.to_string(),
            message: message.into(),
        }
    }

    /// `NotFound` for a missing row, the store error otherwise.
    pub fn from_lookup(what: &'static str, err: StoreError) -> ServiceError {
        match err {
            StoreError::NotFound => ServiceError::NotFound(what),
            other => ServiceError::Store(other),
        }
    }
}

/// Why an account command (merchants, keys, users, settings) was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The input broke a rule; the message says which, in words for a person.
    #[error("{0}")]
    Invalid(String),
    /// The merchant's own object (a key) is not there, or not in this mode.
    #[error("{0}")]
    NotFound(String),
    /// The actor's role does not allow the command; nothing was changed.
    #[error(transparent)]
    Forbidden(#[from] super::access::Forbidden),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A field of a payment create, as an [`ServiceError::Invalid`] names it: the front doors
/// whose fields have other names (the dialects) translate this, not the engine's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateField {
    Amount,
    Currency,
    Description,
    Reference,
    CustomerName,
    CustomerEmail,
    CustomerPhone,
    SuccessUrl,
    CancelUrl,
    CallbackUrl,
    Methods,
    Metadata,
}

impl CreateField {
    /// The field a create's `param` names (`metadata[k]` is `Metadata`).
    pub fn of(param: &str) -> Option<CreateField> {
        Some(match param {
            "amount" => CreateField::Amount,
            "currency" => CreateField::Currency,
            "description" => CreateField::Description,
            "reference" => CreateField::Reference,
            "customer[name]" => CreateField::CustomerName,
            "customer[email]" => CreateField::CustomerEmail,
            "customer[phone]" => CreateField::CustomerPhone,
            "success_url" => CreateField::SuccessUrl,
            "cancel_url" => CreateField::CancelUrl,
            "callback_url" => CreateField::CallbackUrl,
            "methods" => CreateField::Methods,
            p if p == "metadata" || p.starts_with("metadata[") => CreateField::Metadata,
            _ => return None,
        })
    }
}

impl ServiceError {
    /// The create field an `Invalid` error is about, if it is one.
    pub fn invalid_field(&self) -> Option<CreateField> {
        match self {
            ServiceError::Invalid { param, .. } => CreateField::of(param),
            _ => None,
        }
    }

    /// Whether a create was refused because something unique (a dialect's order reference)
    /// is taken.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::Duplicate(_)))
    }
}
