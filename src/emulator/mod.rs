//! The built-in Slack emulator.
