//! The few calls of the reference server's HTTP API the examples need (`/api/v1/…`, JSON):
//! sign-up, login (→ access and refresh token), token refresh and creating a room. Plain
//! `http://` only.

use serde_json::{Value, json};

/// An HTTP call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The server answered with an error body (`{code, message}`).
    #[error("{status} {code}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The error body's `code`.
        code: String,
        /// The error body's `message`.
        message: String,
    },
    /// The server could not be reached, or its answer was not the expected JSON.
    #[error("HTTP request failed: {0}")]
    Transport(String),
}

/// What sign-up, login and refresh return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokens {
    /// Short-lived access token (15 min by default).
    pub access_token: String,
    /// Single-use token for the next [`Api::refresh`].
    pub refresh_token: String,
}

/// A client for one server (`http://host:port`).
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    agent: ureq::Agent,
}

impl Api {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .new_agent();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    /// Creates an account; returns its access token.
    pub fn sign_up(&self, email: &str, password: &str) -> Result<String, ApiError> {
        Ok(self.sign_up_tokens(email, password)?.access_token)
    }

    /// Creates an account; returns its tokens.
    pub fn sign_up_tokens(&self, email: &str, password: &str) -> Result<AuthTokens, ApiError> {
        let body = json!({ "email": email, "password": password });
        tokens(&self.post("/api/v1/auth/signup", None, &body)?)
    }

    /// Logs in; returns an access token (valid for the server's token lifetime, 15 min by
    /// default).
    pub fn login(&self, email: &str, password: &str) -> Result<String, ApiError> {
        Ok(self.login_tokens(email, password)?.access_token)
    }

    /// Logs in; returns the access token and the refresh token for later [`Api::refresh`].
    pub fn login_tokens(&self, email: &str, password: &str) -> Result<AuthTokens, ApiError> {
        let body = json!({ "email": email, "password": password });
        tokens(&self.post("/api/v1/auth/login", None, &body)?)
    }

    /// Rotates a refresh token: a fresh access token and the next refresh token (the one given
    /// is spent).
    pub fn refresh(&self, refresh_token: &str) -> Result<AuthTokens, ApiError> {
        let body = json!({ "refresh_token": refresh_token });
        tokens(&self.post("/api/v1/auth/refresh", None, &body)?)
    }

    /// Creates a public room for up to `capacity` musicians; returns its id.
    pub fn create_room(&self, token: &str, name: &str, capacity: u32) -> Result<String, ApiError> {
        let body = json!({ "name": name, "visibility": "public", "capacity": capacity });
        let reply = self.post("/api/v1/rooms", Some(token), &body)?;
        reply["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::Transport("room reply without an id".into()))
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<Value, ApiError> {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request
            .send_json(body)
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let json: Value = response
            .body_mut()
            .read_json()
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        if status >= 400 {
            let text = |k: &str| json[k].as_str().unwrap_or_default().to_owned();
            return Err(ApiError::Status {
                status,
                code: text("code"),
                message: text("message"),
            });
        }
        Ok(json)
    }
}

fn tokens(reply: &Value) -> Result<AuthTokens, ApiError> {
    let get = |key: &str| {
        reply[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::Transport(format!("auth reply without {key}")))
    };
    Ok(AuthTokens {
        access_token: get("access_token")?,
        refresh_token: get("refresh_token")?,
    })
}
