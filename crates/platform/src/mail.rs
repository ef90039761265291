//! Mail the platform sends (email verification, password reset, "someone tried to sign up with
//! your address"): through SMTP (`lettre`) when an SMTP URL is configured, else written to the
//! log, and the page then says so. A mail holds a one-time link, never a password or a key.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MailError {
    #[error("the SMTP URL is not usable: {0}")]
    Config(String),
    #[error("the address {0} is not a mailbox")]
    Address(String),
    #[error("the mail could not be sent: {0}")]
    Send(String),
}

/// One mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    Log,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The URL may hold SMTP credentials: never shown.
            Mailer::Smtp { from, .. } => write!(f, "Mailer::Smtp(from {from})"),
            Mailer::Log => f.write_str("Mailer::Log"),
        }
    }
}

impl Mailer {
    /// SMTP when `url` is given (`smtp://host:port`, `smtps://user:pass@host`, or with
    /// `?tls=required` for STARTTLS), else the log.
    pub fn new(url: Option<&str>, from: &str) -> Result<Self, MailError> {
        let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
            return Ok(Mailer::Log);
        };
        let transport = Box::new(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| MailError::Config(e.to_string()))?
                .build(),
        );
        let from = from
            .parse()
            .map_err(|_| MailError::Address(from.to_string()))?;
        Ok(Mailer::Smtp { transport, from })
    }

    /// Does mail go to the log (so the page must say so)?
    pub fn logs_only(&self) -> bool {
        matches!(self, Mailer::Log)
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        match self {
            Mailer::Log => {
                tracing::info!(
                    target: "quantdesk_platform::mail",
                    to = %mail.to,
                    subject = %mail.subject,
                    "no SMTP server configured; the mail follows\n{}",
                    mail.body
                );
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = mail
                    .to
                    .parse()
                    .map_err(|_| MailError::Address(mail.to.clone()))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject.clone())
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body.clone())
                    .map_err(|e| MailError::Send(e.to_string()))?;
                transport
                    .send(message)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
                Ok(())
            }
        }
    }
}
