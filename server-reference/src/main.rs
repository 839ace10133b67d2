//! `tutti-server`: parse the configuration, set up logging, open the database, serve until
//! SIGINT or SIGTERM, then finish in-flight requests.
//!
//! Run with: `cargo run --release -p tutti-server -- --help`

use std::net::SocketAddr;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use tutti_server::config::LogFormat;
use tutti_server::{AppState, Config, app};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    init_tracing(config.log_format);
    match run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let bind = config.bind;
    let state = AppState::new(config).await?;
    tracing::info!(backend = ?state.db.backend, "database ready");
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    // A fixed line on stdout that scripts and tests wait for (port 0 picks a free port).
    println!("tutti-server listening on http://{addr}");
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("shut down");
    Ok(())
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // Logs go to stderr; stdout carries only the "listening on" line scripts wait for.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if format == LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
