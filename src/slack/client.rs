//! The Slack Web API client.
