//! Command line: `serve | user | import | config | backup | verify | reprocess | openapi`.

mod import;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use poem::listener::{Listener, TcpListener};

use crate::app::{App, AppState};
use crate::auth::users::NewAccount;
use crate::auth::Role;
use crate::config::{Config, Overrides};
use crate::db::Db;
use crate::tls::TlsAcceptor;

#[derive(Debug, Parser)]
#[command(
    name = "photox",
    version,
    about = "Self-hosted photo daemon for home NAS boxes"
)]
pub struct Cli {
    /// Configuration file (TOML). Without one, embedded defaults apply.
    #[arg(long, short = 'c', global = true, env = "PHOTOX_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Serve(OverrideArgs),
    /// Manage users (works while the daemon runs).
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Import the photos below DIR for a user: copied (default), moved, or referenced where
    /// they are (works while the daemon runs; the daemon makes their thumbnails and tags).
    Import {
        dir: PathBuf,
        /// The user the photos belong to.
        #[arg(long)]
        user: String,
        /// Album title (the user's top-level album of that name, made when missing).
        #[arg(long)]
        album: Option<String>,
        /// copy, move or in-place.
        #[arg(long, default_value = "copy")]
        mode: String,
        /// Show what would be imported; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check a configuration file.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Write a consistent copy of the database to DEST while the daemon runs.
    Backup { dest: PathBuf },
    /// Re-read every original against its checksum; check rows and files match. Exit 1 on any
    /// mismatch.
    Verify,
    /// Queue processing steps again for every photo (the daemon runs them).
    Reprocess {
        /// Comma-separated: exif, thumbnails, tags (default exif,thumbnails).
        #[arg(long, value_delimiter = ',')]
        steps: Option<Vec<String>>,
    },
    /// Print the OpenAPI document.
    Openapi,
}

/// Command-line values that win over the file and the environment.
#[derive(Debug, Clone, Default, Args)]
pub struct OverrideArgs {
    /// Address to listen on (server.listen).
    #[arg(long)]
    pub listen: Option<String>,
    /// Data directory (storage.data_dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl OverrideArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; asks for the password unless --password-stdin.
    Add {
        name: String,
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        email: Option<String>,
    },
    /// Set a user's password and end their sessions.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate FILE (default: --config), naming any bad or unknown key, and print the
    /// effective configuration with secrets masked.
    Check {
        file: Option<PathBuf>,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
}

impl Cli {
    /// The configuration this command runs with.
    pub fn load_config(&self) -> Result<Config, crate::config::ConfigError> {
        match &self.command {
            Command::Serve(args) => Config::load(self.config.as_deref(), &args.overrides()),
            Command::Config {
                action: ConfigCommand::Check { file, overrides },
            } => Config::load(
                file.as_deref().or(self.config.as_deref()),
                &overrides.overrides(),
            ),
            _ => Config::load(self.config.as_deref(), &Overrides::default()),
        }
    }

    /// The log level for this command: the configured one for the daemon, warnings otherwise.
    pub fn log_level(&self, config: &Config) -> log::LevelFilter {
        match self.command {
            Command::Serve(_) => config.log_level(),
            _ => log::LevelFilter::Warn,
        }
    }
}

pub fn run(cli: Cli, config: Config) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            serve(config, cli.config, args.overrides())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { action } => {
            runtime()?.block_on(user_command(action, &config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            dir,
            user,
            album,
            mode,
            dry_run,
        } => import::import(
            config,
            import::ImportArgs {
                dir,
                user,
                album,
                mode,
                dry_run,
            },
        ),
        Command::Config { .. } => {
            println!("configuration is valid; effective settings (secrets masked):");
            println!("{}", serde_json::to_string_pretty(&config.masked())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { dest } => {
            if dest.exists() {
                bail!("{} already exists", dest.display());
            }
            let db = Db::open(&config.storage.data_dir.join("photox.db"))?;
            db.backup_to(&dest)?;
            println!("database copied to {}", dest.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify => verify(config),
        Command::Reprocess { steps } => {
            let state = AppState::open_beside_daemon(config)?;
            let steps = steps.unwrap_or_else(crate::processing::default_steps);
            let n = runtime()?
                .block_on(state.processing().reprocess_all(steps))
                .map_err(describe)?;
            println!("queued {n} photos; a running daemon processes them within seconds");
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            println!("{}", crate::api::openapi().spec());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// After the daemon stopped, how long the runtime waits for blocking work still under way (a
/// thumbnail being rendered for a job that was cancelled) before the process exits.
const BLOCKING_WORK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

fn serve(config: Config, file: Option<PathBuf>, overrides: Overrides) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let served = runtime.block_on(async move {
        let addr = config.listen_addr();
        let (tls_cert, tls_key) = (
            config.server.tls_cert.clone(),
            config.server.tls_key.clone(),
        );
        let state =
            AppState::open(config, file, overrides).context("could not open the data directory")?;
        let acceptor = TcpListener::bind(addr.to_string())
            .into_acceptor()
            .await
            .with_context(|| format!("could not listen on {addr}"))?;
        // Installed before the daemon says it listens: an early SIGHUP is never fatal.
        let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let shutdown = shutdown_signal()?;
        let app = App::new(state).reload_on(hup);
        match (&tls_cert, &tls_key) {
            (Some(cert), Some(key)) => {
                let tls = crate::tls::load_server_config(cert, key).map_err(anyhow::Error::msg)?;
                app.serve(TlsAcceptor::new(acceptor, tls), shutdown).await?
            }
            _ => app.serve(acceptor, shutdown).await?,
        }
        Ok(())
    });
    runtime.shutdown_timeout(BLOCKING_WORK_GRACE);
    served
}

/// Installs the SIGTERM and SIGINT handlers now (before the daemon says it listens, so an early
/// signal is never fatal) and returns a future that resolves on either.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => log::info!("SIGTERM: draining requests"),
            _ = int.recv() => log::info!("interrupted: draining requests"),
        }
    })
}

async fn user_command(action: UserCommand, config: &Config) -> anyhow::Result<()> {
    let state = AppState::open_beside_daemon(config.clone())?;
    let accounts = state.accounts();
    match action {
        UserCommand::Add {
            name,
            admin,
            password_stdin,
            email,
        } => {
            let password = read_password(password_stdin)?;
            let role = if admin { Role::Admin } else { Role::User };
            let account = NewAccount {
                username: name,
                password,
                email,
                role: Some(role),
            };
            let user = accounts.create_user(account).await.map_err(describe)?;
            println!(
                "created {} `{}` (id {})",
                user.role.as_str(),
                user.username,
                user.id
            );
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let user = accounts.find_by_username(&name).await.map_err(describe)?;
            let password = read_password(password_stdin)?;
            accounts
                .reset_password(user.id, &password, None)
                .await
                .map_err(describe)?;
            println!(
                "password of `{}` changed; their sessions are ended",
                user.username
            );
        }
        UserCommand::List => {
            let (users, _) = accounts
                .list_users(None, i64::MAX, 0)
                .await
                .map_err(describe)?;
            println!(
                "{:>6}  {:<32}  {:<5}  {:<6}  created",
                "id", "username", "role", "active"
            );
            for u in users {
                println!(
                    "{:>6}  {:<32}  {:<5}  {:<6}  {}",
                    u.id,
                    u.username,
                    u.role.as_str(),
                    if u.is_active { "yes" } else { "no" },
                    crate::api::timestamp(u.created_at)
                );
            }
        }
    }
    Ok(())
}

fn verify(config: Config) -> anyhow::Result<ExitCode> {
    let state = AppState::open_beside_daemon(config)?;
    let show = std::io::stderr().is_terminal();
    let report = crate::storage::verify::verify_library(
        state.db(),
        state.catalog().storage(),
        |done, total| {
            if show {
                let width = 30;
                let filled = (done * width).checked_div(total).unwrap_or(width);
                eprint!(
                    "\rverifying [{}{}] {done}/{total}",
                    "#".repeat(filled),
                    " ".repeat(width - filled)
                );
            }
        },
    )?;
    if show {
        eprintln!();
    }
    for problem in &report.problems {
        println!("{problem}");
    }
    let mb = report.bytes as f64 / 1048576.0;
    if report.problems.is_empty() {
        println!(
            "{} photos verified ({mb:.1} MB): all originals match their checksums",
            report.photos
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{} problems in {} photos ({mb:.1} MB read)",
            report.problems.len(),
            report.photos
        );
        Ok(ExitCode::FAILURE)
    }
}

fn describe(e: crate::error::AppError) -> anyhow::Error {
    match e {
        crate::error::AppError::Validation(v) => {
            let lines: Vec<String> = v
                .details
                .iter()
                .map(|d| format!("{} {}", d.field, d.message))
                .collect();
            anyhow::anyhow!(lines.join("; "))
        }
        other => anyhow::anyhow!(other.to_string()),
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password; use --password-stdin");
    }
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Repeat password: ")?;
    if first != second {
        bail!("the passwords differ");
    }
    Ok(first)
}
