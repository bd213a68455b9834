//! A one-line progress bar on stderr, drawn only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const WIDTH: usize = 30;

/// Redrawing more often than this only costs time.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub struct Progress {
    label: String,
    total: u64,
    sent: u64,
    drawn_at: Option<Instant>,
}

impl Progress {
    /// A bar for `total` bytes, or `None` when stderr is not a terminal (a log, a CI job).
    pub fn on_terminal(label: &str, total: u64) -> Option<Self> {
        std::io::stderr().is_terminal().then(|| Progress {
            label: label.to_owned(),
            total,
            sent: 0,
            drawn_at: None,
        })
    }

    pub fn advance(&mut self, bytes: usize) {
        self.sent = self.sent.saturating_add(bytes as u64).min(self.total);
        let due = self.drawn_at.is_none_or(|at| at.elapsed() >= REDRAW_EVERY);
        if due || self.sent == self.total {
            self.draw();
        }
    }

    /// Ends the bar's line.
    pub fn finish(&mut self) {
        self.draw();
        eprintln!();
    }

    fn draw(&mut self) {
        self.drawn_at = Some(Instant::now());
        let mut stderr = std::io::stderr().lock();
        // A failed redraw of a progress bar is not worth failing the upload for.
        let _ = write!(stderr, "\r{}", render(&self.label, self.sent, self.total));
        let _ = stderr.flush();
    }
}

/// `label [#########·····················]  30%  1.2 MB / 4.0 MB`
fn render(label: &str, sent: u64, total: u64) -> String {
    let fraction = if total == 0 {
        1.0
    } else {
        sent as f64 / total as f64
    };
    let filled = ((fraction * WIDTH as f64).round() as usize).min(WIDTH);
    format!(
        "{label} [{}{}] {:>3}%  {} / {}",
        "#".repeat(filled),
        "·".repeat(WIDTH - filled),
        (fraction * 100.0).round() as u64,
        megabytes(sent),
        megabytes(total)
    )
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_in_proportion() {
        assert_eq!(
            render("up", 0, 4_000_000),
            format!("up [{}]   0%  0.0 MB / 4.0 MB", "·".repeat(30))
        );
        assert_eq!(
            render("up", 1_000_000, 4_000_000),
            format!(
                "up [{}{}]  25%  1.0 MB / 4.0 MB",
                "#".repeat(8),
                "·".repeat(22)
            )
        );
        assert_eq!(
            render("up", 4_000_000, 4_000_000),
            format!("up [{}] 100%  4.0 MB / 4.0 MB", "#".repeat(30))
        );
    }

    #[test]
    fn an_empty_total_is_complete_not_a_division_by_zero() {
        assert!(render("up", 0, 0).contains("100%"));
    }
}
