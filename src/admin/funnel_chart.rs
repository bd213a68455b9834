//! The overview's funnel chart: requests of the last 30 days per day, with how many of each day's
//! requests were invited and joined, laid out as SVG rectangles the template draws.
//!
//! Joined ⊆ invited ⊆ requested, so the three bars of a day stand in front of one another.

use crate::db::admin_requests::FunnelDay;

pub const DAYS: i64 = 30;
pub const WIDTH: u32 = 600;
pub const HEIGHT: u32 = 150;
/// Room under the bars for the date labels.
pub const LABEL_SPACE: u32 = 18;
const SLOT: u32 = WIDTH / DAYS as u32;
const BAR: u32 = SLOT - 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub y: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayBars {
    pub x: u32,
    pub width: u32,
    pub date: String,
    pub counts: FunnelDay,
    pub requested: Bar,
    pub invited: Bar,
    pub joined: Bar,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub requested: i64,
    pub invited: i64,
    pub joined: i64,
}

#[derive(Debug, Clone)]
pub struct FunnelChart {
    pub days: Vec<DayBars>,
    pub totals: Totals,
    /// The tallest day, which the bars are scaled to.
    pub peak: i64,
    pub first_date: String,
    pub last_date: String,
}

impl FunnelChart {
    pub fn view_box(&self) -> String {
        format!("0 0 {WIDTH} {}", HEIGHT + LABEL_SPACE)
    }

    pub fn label_y(&self) -> u32 {
        HEIGHT + LABEL_SPACE - 4
    }

    pub fn right_edge(&self) -> u32 {
        WIDTH
    }

    /// Percent of requests that were invited, and of those invited that joined.
    pub fn rates(&self) -> (i64, i64) {
        let pct = |part: i64, whole: i64| if whole > 0 { part * 100 / whole } else { 0 };
        (
            pct(self.totals.invited, self.totals.requested),
            pct(self.totals.joined, self.totals.invited),
        )
    }
}

/// The first day of the window that ends today (Unix seconds, midnight UTC).
pub fn window_start(now: i64) -> i64 {
    let today = now - now.rem_euclid(86_400);
    today - (DAYS - 1) * 86_400
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{} {:02}", t.month(), t.day()))
        .unwrap_or_default()
}

fn bar(count: i64, peak: i64) -> Bar {
    let height = if peak > 0 {
        // Never taller than the chart; a day with any requests shows at least a sliver.
        let h = (count.clamp(0, peak) * i64::from(HEIGHT) / peak) as u32;
        if count > 0 { h.max(1) } else { 0 }
    } else {
        0
    };
    Bar {
        y: HEIGHT - height,
        height,
    }
}

/// Lays out the days the query returned (missing days had no requests) from `start`.
pub fn layout(start: i64, rows: &[FunnelDay]) -> FunnelChart {
    let mut counts: Vec<FunnelDay> = (0..DAYS)
        .map(|day| FunnelDay {
            day,
            requested: 0,
            invited: 0,
            joined: 0,
        })
        .collect();
    for row in rows {
        if let Some(slot) = usize::try_from(row.day)
            .ok()
            .and_then(|d| counts.get_mut(d))
        {
            *slot = *row;
        }
    }
    let peak = counts.iter().map(|d| d.requested).max().unwrap_or(0);
    let totals = counts.iter().fold(Totals::default(), |t, d| Totals {
        requested: t.requested + d.requested,
        invited: t.invited + d.invited,
        joined: t.joined + d.joined,
    });
    let days = counts
        .iter()
        .enumerate()
        .map(|(i, d)| DayBars {
            x: i as u32 * SLOT + (SLOT - BAR) / 2,
            width: BAR,
            date: date(start + d.day * 86_400),
            counts: *d,
            requested: bar(d.requested, peak),
            invited: bar(d.invited, peak),
            joined: bar(d.joined, peak),
        })
        .collect();
    FunnelChart {
        days,
        totals,
        peak,
        first_date: date(start),
        last_date: date(start + (DAYS - 1) * 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: i64, requested: i64, invited: i64, joined: i64) -> FunnelDay {
        FunnelDay {
            day,
            requested,
            invited,
            joined,
        }
    }

    #[test]
    fn the_busiest_day_fills_the_chart_and_nested_bars_stay_nested() {
        let chart = layout(0, &[day(0, 10, 5, 2), day(29, 20, 20, 10)]);
        assert_eq!(chart.days.len(), 30);
        assert_eq!(chart.peak, 20);
        let last = &chart.days[29];
        assert_eq!(
            last.requested,
            Bar {
                y: 0,
                height: HEIGHT
            }
        );
        assert_eq!(last.joined.height, HEIGHT / 2);
        let first = &chart.days[0];
        assert!(first.requested.height >= first.invited.height);
        assert!(first.invited.height >= first.joined.height);
        assert_eq!(
            chart.totals,
            Totals {
                requested: 30,
                invited: 25,
                joined: 12
            }
        );
        assert_eq!(chart.rates(), (83, 48));
    }

    #[test]
    fn an_empty_window_draws_no_bars_and_no_division_by_zero() {
        let chart = layout(0, &[]);
        assert!(chart.days.iter().all(|d| d.requested.height == 0));
        assert_eq!(chart.rates(), (0, 0));
    }

    #[test]
    fn a_small_day_still_shows_and_out_of_window_rows_are_ignored() {
        let chart = layout(0, &[day(3, 1, 0, 0), day(4, 1000, 0, 0), day(30, 5, 0, 0)]);
        assert_eq!(chart.days[3].requested.height, 1);
        assert_eq!(chart.totals.requested, 1001);
    }

    #[test]
    fn bars_stay_inside_the_chart() {
        let chart = layout(0, &[day(29, 3, 3, 3)]);
        let last = chart.days.last().unwrap();
        assert!(last.x + last.width <= WIDTH);
    }

    #[test]
    fn the_window_ends_today_at_midnight_utc() {
        let now = 1_700_000_000; // 2023-11-14 22:13:20 UTC
        let start = window_start(now);
        assert_eq!(start % 86_400, 0);
        assert_eq!((now - start) / 86_400, DAYS - 1);
        assert_eq!(layout(start, &[]).last_date, "November 14");
    }
}
