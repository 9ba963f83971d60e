//! Baselines: what is normal for this outlet (its own history) and for its peers (outlets of
//! the same industry, factor and interval in the same run). Thresholds are set against them,
//! not only as fixed numbers: a repeat rate that is ordinary for a coarse wastewater analyser
//! is a red flag for a flue-gas SO2 monitor.
//!
//! A [`Profile`] is one pass over a prepared series. [`Peers`] summarises the profiles of a
//! run by robust statistics (median, p95), so a few falsifying outlets barely move them.

use std::collections::HashMap;

use crate::config::Role;
use crate::qa::Qa;
use crate::series::Prepared;
use crate::stats::{self, Moments};

/// Statistics of one channel over valid values while the unit runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelProfile {
    pub factor: String,
    pub role: Role,
    /// Valid values while running.
    pub n: usize,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    /// Share of consecutive valid pairs with the same value (S1, S7).
    pub repeat_rate: f64,
    /// Roughness: sd(Δx) over consecutive valid pairs / mean(x) (S13), the median of the
    /// days' (one start-up or upset would set a pooled figure by itself). A low-pass filter
    /// removes the sample-to-sample noise this measures, while load swings barely touch it.
    pub roughness: f64,
    /// Share of values in [band_low·L, L) (S4).
    pub hug_share: f64,
    /// Correlation with flow (S6).
    pub flow_corr: f64,
    /// Slope of the value on flow and the residual standard deviation around that line (S6:
    /// the correlation a window should show for the flow variation it has).
    pub flow_slope: f64,
    pub flow_resid_sd: f64,
    /// Share of rows while running flagged with a flag S11 counts.
    pub flag_rate: f64,
}

/// One outlet's profile at one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub mn: String,
    pub industry: String,
    pub interval: i64,
    pub channels: Vec<ChannelProfile>,
}

impl Profile {
    /// One pass over each channel. `band_low` is S4's band and `flags` S11's flag set, so the
    /// peer rates mean the same as the detectors' own.
    pub fn of(p: &Prepared, band_low: f64, flags: &str) -> Profile {
        let flow = p.flow.map(|f| &p.channels[f]);
        let mut counted = [false; 256];
        for b in flags.bytes() {
            counted[usize::from(b)] = true;
        }
        let channels = p
            .channels
            .iter()
            .map(|c| {
                let (mut n, mut repeats, mut pairs) = (0usize, 0usize, 0usize);
                let (mut hug, mut flagged, mut running) = (0usize, 0usize, 0usize);
                let (mut sum, mut dsum, mut dsq) = (0.0, 0.0, 0.0);
                // The running day's sums for its roughness: (sum, n, dsum, dsq, pairs).
                let day = p.slots(24.0).max(1);
                let mut today = (0.0, 0usize, 0.0, 0.0, 0usize);
                let mut days: Vec<f64> = Vec::new();
                let mut close_day = |t: &mut (f64, usize, f64, f64, usize)| {
                    let (sum, n, dsum, dsq, pairs) = *t;
                    if pairs * 2 >= day && sum > 0.0 {
                        let m = pairs as f64;
                        let sd = (dsq / m - (dsum / m).powi(2)).max(0.0).sqrt();
                        days.push(sd / (sum / n as f64));
                    }
                    *t = (0.0, 0, 0.0, 0.0, 0);
                };
                let mut with_flow = Moments::default();
                let limit = c.limit.unwrap_or(f64::NAN);
                let mut prev: Option<f64> = None;
                let stride = stats::sample_stride(p.len);
                let mut values = Vec::with_capacity(p.len / stride + 1);
                let mut skip = 0;
                let mut next_day = day;
                for i in 0..p.len {
                    if i == next_day {
                        close_day(&mut today);
                        next_day += day;
                    }
                    if !p.running[i] {
                        prev = None;
                        continue;
                    }
                    running += 1;
                    flagged += usize::from(counted[usize::from(c.flag[i])]);
                    if c.qa[i] != Qa::Valid {
                        prev = None;
                        continue;
                    }
                    let x = c.x[i];
                    n += 1;
                    if skip == 0 {
                        values.push(x);
                        skip = stride;
                    }
                    skip -= 1;
                    sum += x;
                    today.0 += x;
                    today.1 += 1;
                    if x >= band_low * limit && x < limit {
                        hug += 1;
                    }
                    if let Some(q) = prev {
                        pairs += 1;
                        repeats += usize::from(q == x);
                        dsum += x - q;
                        dsq += (x - q) * (x - q);
                        today.2 += x - q;
                        today.3 += (x - q) * (x - q);
                        today.4 += 1;
                    }
                    if let Some(f) = flow.filter(|f| f.qa[i] == Qa::Valid) {
                        with_flow.add(x, f.x[i]);
                    }
                    prev = Some(x);
                }
                close_day(&mut today);
                let [p10, p50, p90] = stats::deciles(&mut values);
                let ratio = |a: usize, b: usize| {
                    if b == 0 {
                        f64::NAN
                    } else {
                        a as f64 / b as f64
                    }
                };
                ChannelProfile {
                    factor: c.factor.clone(),
                    role: c.role,
                    n,
                    p10,
                    p50,
                    p90,
                    repeat_rate: ratio(repeats, pairs),
                    roughness: if !days.is_empty() {
                        stats::quantile(&mut days, 0.5)
                    } else if pairs == 0 {
                        f64::NAN
                    } else {
                        let m = pairs as f64;
                        (dsq / m - (dsum / m).powi(2)).max(0.0).sqrt() / (sum / n as f64)
                    },
                    hug_share: if c.limit.is_some() {
                        ratio(hug, n)
                    } else {
                        f64::NAN
                    },
                    flow_corr: with_flow.correlation(),
                    flow_slope: with_flow.line_x_on_y().1,
                    flow_resid_sd: with_flow.residual_sd(),
                    flag_rate: ratio(flagged, running),
                }
            })
            .collect();
        Profile {
            mn: p.series.mn.clone(),
            industry: p.series.industry.clone(),
            interval: p.interval,
            channels,
        }
    }

    /// The profile of a factor.
    pub fn channel(&self, factor: &str) -> Option<&ChannelProfile> {
        self.channels.iter().find(|c| c.factor == factor)
    }
}

/// Median and p95 of one statistic across peers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub p95: f64,
}

/// Peer statistics of one (industry, factor, interval).
#[derive(Debug, Clone, PartialEq)]
pub struct PeerStats {
    /// Peers with data.
    pub n: usize,
    pub p50: Spread,
    /// p90 − p10 relative to p50.
    pub relative_spread: Spread,
    pub p90: Spread,
    pub repeat_rate: Spread,
    pub roughness: Spread,
    pub hug_share: Spread,
    pub flow_corr: Spread,
    pub flag_rate: Spread,
}

/// Peer statistics of a run, by (industry, factor, interval).
#[derive(Debug, Clone, Default)]
pub struct Peers {
    groups: HashMap<(String, String, i64), PeerStats>,
    min_peers: usize,
}

impl Peers {
    /// Summarises profiles. Groups with fewer than `min_peers` outlets with data are kept but
    /// [`Peers::get`] does not offer them: too few to call anything normal.
    pub fn new<'p>(profiles: impl IntoIterator<Item = &'p Profile>, min_peers: usize) -> Peers {
        let mut by_key: HashMap<(String, String, i64), Vec<&ChannelProfile>> = HashMap::new();
        for p in profiles {
            for c in p.channels.iter().filter(|c| c.n > 0) {
                by_key
                    .entry((p.industry.clone(), c.factor.clone(), p.interval))
                    .or_default()
                    .push(c);
            }
        }
        let groups = by_key
            .into_iter()
            .map(|(key, cs)| {
                let spread = |f: &dyn Fn(&ChannelProfile) -> f64| {
                    let mut v: Vec<f64> =
                        cs.iter().map(|c| f(c)).filter(|x| x.is_finite()).collect();
                    let median = stats::quantile(&mut v, 0.5);
                    Spread {
                        median,
                        p95: stats::quantile(&mut v, 0.95),
                    }
                };
                let stats = PeerStats {
                    n: cs.len(),
                    p50: spread(&|c| c.p50),
                    relative_spread: spread(&|c| (c.p90 - c.p10) / c.p50),
                    p90: spread(&|c| c.p90),
                    repeat_rate: spread(&|c| c.repeat_rate),
                    roughness: spread(&|c| c.roughness),
                    hug_share: spread(&|c| c.hug_share),
                    flow_corr: spread(&|c| c.flow_corr),
                    flag_rate: spread(&|c| c.flag_rate),
                };
                (key, stats)
            })
            .collect();
        Peers { groups, min_peers }
    }

    /// The peers of a factor, if there are enough of them.
    pub fn get(&self, industry: &str, factor: &str, interval: i64) -> Option<&PeerStats> {
        self.groups
            .get(&(industry.to_owned(), factor.to_owned(), interval))
            .filter(|s| s.n >= self.min_peers)
    }
}

/// What a detector compares one outlet against.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    /// The screened period itself.
    pub own: &'a Profile,
    /// The outlet's history before the period, if the caller read it.
    pub history: Option<&'a Profile>,
    pub peers: &'a Peers,
}

/// Where a reference value came from, for the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    History,
    Peers,
    Own,
}

impl Source {
    pub fn id(self) -> &'static str {
        match self {
            Source::History => "history",
            Source::Peers => "peers",
            Source::Own => "own",
        }
    }

    /// Chinese phrase for explanations.
    pub fn zh(self) -> &'static str {
        match self {
            Source::History => "本排口历史",
            Source::Peers => "同行业排口",
            Source::Own => "本排口本期",
        }
    }
}

impl<'a> Baseline<'a> {
    /// The history profile of a factor.
    pub fn history(&self, factor: &str) -> Option<&'a ChannelProfile> {
        self.history?.channel(factor).filter(|c| c.n > 0)
    }

    /// The peer statistics of a factor.
    pub fn peers(&self, factor: &str) -> Option<&'a PeerStats> {
        self.peers
            .get(&self.own.industry, factor, self.own.interval)
    }

    /// The period's own profile of a factor.
    pub fn own(&self, factor: &str) -> Option<&'a ChannelProfile> {
        self.own.channel(factor)
    }

    /// A reference statistic: from the outlet's history if there is one, else the peers'
    /// median, else the period itself. History first because a change in the outlet's own
    /// behaviour is the strongest evidence; peers next because they catch an outlet that has
    /// always behaved oddly.
    pub fn reference(
        &self,
        factor: &str,
        own: impl Fn(&ChannelProfile) -> f64,
        peer: impl Fn(&PeerStats) -> Spread,
    ) -> Option<(f64, Source)> {
        self.first_of(
            &[Source::History, Source::Peers, Source::Own],
            factor,
            own,
            peer,
        )
    }

    /// Like [`Baseline::reference`], peers first: for statistics whose point is comparison
    /// with other outlets (S3, S4).
    pub fn peer_reference(
        &self,
        factor: &str,
        own: impl Fn(&ChannelProfile) -> f64,
        peer: impl Fn(&PeerStats) -> Spread,
    ) -> Option<(f64, Source)> {
        self.first_of(
            &[Source::Peers, Source::History, Source::Own],
            factor,
            own,
            peer,
        )
    }

    /// The first finite statistic from the sources in `order`.
    fn first_of(
        &self,
        order: &[Source],
        factor: &str,
        own: impl Fn(&ChannelProfile) -> f64,
        peer: impl Fn(&PeerStats) -> Spread,
    ) -> Option<(f64, Source)> {
        order.iter().find_map(|&src| {
            let x = match src {
                Source::History => self.history(factor).map(&own),
                Source::Peers => self.peers(factor).map(|s| peer(s).median),
                Source::Own => self.own(factor).map(&own),
            };
            x.filter(|x| x.is_finite()).map(|x| (x, src))
        })
    }

    /// The band for charts: p10–p90 of the history, else of the period.
    pub fn band(&self, factor: &str) -> Option<(f64, f64, Source)> {
        self.history(factor)
            .map(|c| (c.p10, c.p90, Source::History))
            .or_else(|| self.own(factor).map(|c| (c.p10, c.p90, Source::Own)))
            .filter(|(lo, hi, _)| lo.is_finite() && hi.is_finite())
    }

    /// The band as evidence JSON.
    pub fn band_json(&self, factor: &str) -> serde_json::Value {
        match self.band(factor) {
            Some((lo, hi, src)) => serde_json::json!({"p10": lo, "p90": hi, "source": src.id()}),
            None => serde_json::Value::Null,
        }
    }
}
