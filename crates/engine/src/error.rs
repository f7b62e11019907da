//! The engine's errors. Each says what failed and on which object; its
//! [`Kind`] tells the API layer which status code to answer with.

/// What kind of failure an [`EngineError`] is (the API maps it to a status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 400: the request is wrong.
    InvalidArgument,
    /// 404: no such object.
    NotFound,
    /// 409: the object's state or name forbids it.
    Conflict,
    /// 403: never allowed (removing a predefined network, a pool that
    /// overlaps another).
    Forbidden,
    /// 304: already in the asked state (start of a running container).
    NotModified,
    /// 500: our fault or the system's.
    System,
}

/// An engine failure.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    /// The kind.
    pub kind: Kind,
    /// The message, Docker's wording where a client may match on it.
    pub message: String,
    /// The cause.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl EngineError {
    /// A failure of `kind` with `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        EngineError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// 400.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Kind::InvalidArgument, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }

    /// 500 with a cause.
    pub fn system(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        EngineError {
            kind: Kind::System,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The same failure with a cause.
    pub fn with(mut self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The message with its causes, `: `-joined (what the API sends).
    pub fn full_message(&self) -> String {
        let mut out = self.message.clone();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            out.push_str(": ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }
}

/// The engine's result.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
