//! Photox: a self-hosted photo daemon for home NAS boxes.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crash_points;
pub mod db;
pub mod error;
pub mod import;
pub mod ingest;
pub mod jobs;
pub mod logging;
pub mod media;
pub mod memory;
pub mod photos;
pub mod ratelimit;
pub mod search;
pub mod server;
pub mod sharing;
pub mod stats;
pub mod storage;
pub mod tagging;
pub mod tls;
pub mod uploads;
pub mod visibility;
