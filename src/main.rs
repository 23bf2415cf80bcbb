use std::process::ExitCode;

use clap::Parser;
use photox::cli::{self, Cli, Command};
use photox::logging;

fn main() -> ExitCode {
    photox::memory::return_large_buffers_to_the_os();
    let cli = Cli::parse();
    let config = match cli.load_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("photox: configuration error: {e}");
            return if matches!(cli.command, Command::Config { .. }) {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            };
        }
    };
    logging::init(&config.log, cli.log_level(&config));
    for name in photox::config::ignored_env_vars() {
        log::warn!("ignoring {name}: configuration variables are PHOTOX_<SECTION>__<KEY>");
    }
    match cli::run(cli, config) {
        Ok(code) => code,
        Err(e) => {
            log::error!("{e:#}");
            eprintln!("photox: {e:#}");
            ExitCode::FAILURE
        }
    }
}
