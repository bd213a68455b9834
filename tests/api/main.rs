//! Integration tests: one binary, each area in its own module.
mod helpers;

mod admin;
mod cli;
mod db_copy;
mod features;
mod install_flow;
mod instances;
mod join;
mod keys;
mod mail;
mod operations;
mod organiser;
mod posting;
mod restart;
mod slack_side;
mod startup_checks;
mod web_basics;
