//! `photox import DIR --user NAME [--album TITLE] [--mode copy|move|in-place] [--dry-run]`: a
//! progress bar on a terminal (files, bytes, rate, ETA), a line per file otherwise, then a
//! summary; exit code 1 if any file failed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};

use super::{describe, runtime};
use crate::app::AppState;
use crate::auth::Caller;
use crate::config::Config;
use crate::import::{FolderImport, Importer, Mode, Outcome, Summary};

pub struct ImportArgs {
    pub dir: PathBuf,
    pub user: String,
    pub album: Option<String>,
    pub mode: String,
    pub dry_run: bool,
}

pub fn import(config: Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let Some(mode) = Mode::parse(&args.mode) else {
        bail!("--mode must be copy, move or in-place");
    };
    let state = AppState::open_beside_daemon(config)?;
    runtime()?.block_on(async move {
        let user = state
            .accounts()
            .find_by_username(&args.user)
            .await
            .map_err(|_| anyhow::anyhow!("no user named `{}`", args.user))?;
        if !user.is_active {
            bail!("user `{}` is deactivated", user.username);
        }
        let owner = Caller {
            user_id: user.id,
            session_id: crate::db::ids::SessionId(0),
            role: user.role,
        };
        let importer = Importer::new(
            state.db().clone(),
            state.ingest().clone(),
            state.data_dir().to_path_buf(),
        );
        let request = FolderImport {
            dir: args.dir.clone(),
            owner,
            album: args.album.clone(),
            mode,
            excludes: Vec::new(),
        };
        let plan = importer.plan(&request).await.map_err(describe)?;
        let bar = progress_bar(plan.files.len(), plan.total_bytes());
        let report = |file: &crate::import::scan::Found, outcome: &Outcome| {
            let line = describe_outcome(&file.relative, outcome, args.dry_run);
            match &bar {
                Some(bar) => {
                    bar.inc(file.size);
                    bar.set_message(format!("{} files", bar.position()));
                    if matches!(outcome, Outcome::Failed(_)) {
                        bar.println(line);
                    }
                }
                None => println!("{line}"),
            }
        };
        let summary = if args.dry_run {
            importer.dry_run(&request, &plan, report).await
        } else {
            importer.run(&request, &plan, report).await
        }
        .map_err(describe)?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        for unusable in &plan.unusable {
            println!(
                "unreadable: {}: {}",
                unusable.path.display(),
                unusable.reason
            );
        }
        print_summary(&summary, plan.unusable.len(), args.dry_run);
        let failed = !summary.failed.is_empty() || !plan.unusable.is_empty();
        Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// A bar over the bytes to import, on a terminal only.
fn progress_bar(files: usize, bytes: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(bytes);
    let style = ProgressStyle::with_template(
        "{msg:>12} of {prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("#>-");
    bar.set_style(style);
    bar.set_prefix(files.to_string());
    Some(bar)
}

fn describe_outcome(relative: &str, outcome: &Outcome, dry_run: bool) -> String {
    match outcome {
        Outcome::Imported if dry_run => format!("would import: {relative}"),
        Outcome::Imported => format!("imported: {relative}"),
        Outcome::Duplicate => format!("duplicate: {relative}"),
        Outcome::Skipped(why) => format!("skipped: {relative}: {why}"),
        Outcome::Failed(why) => format!("failed: {relative}: {why}"),
    }
}

fn print_summary(summary: &Summary, unreadable: usize, dry_run: bool) {
    let verb = if dry_run { "would import" } else { "imported" };
    println!(
        "{verb} {}, duplicates {}, skipped {}, failed {}{}",
        summary.imported,
        summary.duplicates,
        summary.skipped,
        summary.failed.len() + unreadable,
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    );
    for (path, why) in &summary.failed {
        println!("  failed: {path}: {why}");
    }
}
