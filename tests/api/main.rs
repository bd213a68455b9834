//! Integration tests: one binary, each area in its own module.
mod helpers;

mod admin;
mod install_flow;
mod join;
mod keys;
mod restart;
mod startup_checks;
mod web_basics;
