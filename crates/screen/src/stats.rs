//! Small statistics shared by baselines and detectors. NaN-safe: empty input gives NaN,
//! never a panic.

/// Values kept for quantiles: one in `sample_stride(len)` of `len` candidates, 256 to 511
/// of them. Baselines need two significant digits, not exact order statistics (the
/// nearest-rank p10 of 256 values is within ±1.9 percentile points of the true one, 1 σ;
/// twenty generated fleets screen the same with 256 as with 512), and a selection over
/// every value cost a sixth of the whole catalogue.
pub fn sample_stride(len: usize) -> usize {
    (len / 256).max(1)
}

/// The `q` quantile (nearest rank) of `v`, reordering `v`. NaN for an empty slice.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let k = ((v.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    *v.select_nth_unstable_by(k, f64::total_cmp).1
}

/// p10, p50 and p90 of `v` (reordered), with one full selection and two on the halves.
pub fn deciles(v: &mut [f64]) -> [f64; 3] {
    if v.is_empty() {
        return [f64::NAN; 3];
    }
    let n = v.len();
    let rank = |q: f64| ((n - 1) as f64 * q).round() as usize;
    let (k10, k50, k90) = (rank(0.1), rank(0.5), rank(0.9));
    let (lo, mid, hi) = v.select_nth_unstable_by(k50, f64::total_cmp);
    let p50 = *mid;
    let p10 = if k10 < k50 {
        *lo.select_nth_unstable_by(k10, f64::total_cmp).1
    } else {
        p50
    };
    let p90 = if k90 > k50 {
        *hi.select_nth_unstable_by(k90 - k50 - 1, f64::total_cmp).1
    } else {
        p50
    };
    [p10, p50, p90]
}

/// Median absolute deviation scaled to σ for normal data (1.4826 · MAD).
pub fn robust_sigma(v: &mut [f64]) -> f64 {
    let m = quantile(v, 0.5);
    for x in v.iter_mut() {
        *x = (*x - m).abs();
    }
    1.4826 * quantile(v, 0.5)
}

/// Running sums for a Pearson correlation and the variances.
#[derive(Debug, Clone, Copy, Default)]
pub struct Moments {
    pub n: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Moments {
    #[inline]
    pub fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.syy += y * y;
        self.sxy += x * y;
    }

    /// The moments of two disjoint ranges together.
    pub fn merged(&self, o: &Moments) -> Moments {
        Moments {
            n: self.n + o.n,
            sx: self.sx + o.sx,
            sy: self.sy + o.sy,
            sxx: self.sxx + o.sxx,
            syy: self.syy + o.syy,
            sxy: self.sxy + o.sxy,
        }
    }

    fn centred(&self) -> (f64, f64, f64) {
        let n = self.n;
        (
            self.sxx - self.sx * self.sx / n,
            self.syy - self.sy * self.sy / n,
            self.sxy - self.sx * self.sy / n,
        )
    }

    /// Pearson correlation; NaN when either side does not vary.
    pub fn correlation(&self) -> f64 {
        if self.n < 3.0 {
            return f64::NAN;
        }
        let (vx, vy, cxy) = self.centred();
        if vx <= 0.0 || vy <= 0.0 {
            return f64::NAN;
        }
        (cxy / (vx * vy).sqrt()).clamp(-1.0, 1.0)
    }

    /// Variance of x (population).
    pub fn variance_x(&self) -> f64 {
        if self.n < 2.0 {
            return f64::NAN;
        }
        (self.centred().0 / self.n).max(0.0)
    }

    /// Mean of x.
    pub fn mean_x(&self) -> f64 {
        self.sx / self.n
    }

    /// Standard deviation of y (population).
    pub fn sd_y(&self) -> f64 {
        if self.n < 2.0 {
            return f64::NAN;
        }
        (self.centred().1 / self.n).max(0.0).sqrt()
    }

    /// Standard deviation of x around its least-squares line on y.
    pub fn residual_sd(&self) -> f64 {
        let r = self.correlation();
        let r2 = if r.is_finite() { r * r } else { 0.0 };
        (self.variance_x() * (1.0 - r2)).max(0.0).sqrt()
    }

    /// Coefficient of variation of y.
    pub fn cv_y(&self) -> f64 {
        if self.n < 2.0 {
            return f64::NAN;
        }
        let (_, vy, _) = self.centred();
        let mean = self.sy / self.n;
        (vy.max(0.0) / self.n).sqrt() / mean.abs()
    }

    /// Least-squares line x ≈ a + b·y (x on y), for residuals of a concentration on flow.
    pub fn line_x_on_y(&self) -> (f64, f64) {
        if self.n < 3.0 {
            return (f64::NAN, f64::NAN);
        }
        let (_, vy, cxy) = self.centred();
        let b = if vy > 0.0 { cxy / vy } else { 0.0 };
        let a = (self.sx - b * self.sy) / self.n;
        (a, b)
    }
}

/// P(X ≥ k) for X ~ Binomial(n, p), summed in log space. 1 for k = 0.
pub fn binomial_tail(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    // log C(n, k) p^k (1-p)^(n-k), then the ratio of successive terms.
    let mut log_c = 0.0;
    for j in 1..=k {
        log_c += ((n - k + j) as f64).ln() - (j as f64).ln();
    }
    let mut term = (log_c + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp();
    let mut sum = term;
    let ratio = p / (1.0 - p);
    for j in k..n {
        term *= (n - j) as f64 / (j + 1) as f64 * ratio;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_match_sorting() {
        let mut v: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        assert_eq!(deciles(&mut v), [10.0, 50.0, 90.0]);
        assert!(quantile(&mut [], 0.5).is_nan());
        assert_eq!(deciles(&mut [3.0]), [3.0, 3.0, 3.0]);
    }

    #[test]
    fn binomial_tail_matches_closed_forms() {
        // P(X ≥ 1) = 1 − (1 − p)^n
        let p = binomial_tail(1, 10, 0.1);
        assert!((p - (1.0 - 0.9f64.powi(10))).abs() < 1e-12);
        assert!((binomial_tail(10, 10, 0.5) - 0.5f64.powi(10)).abs() < 1e-15);
        assert_eq!(binomial_tail(0, 5, 0.3), 1.0);
        assert_eq!(binomial_tail(6, 5, 0.3), 0.0);
    }

    #[test]
    fn correlation_of_a_line_is_one() {
        let mut m = Moments::default();
        for i in 0..10 {
            m.add(2.0 * f64::from(i) + 1.0, f64::from(i));
        }
        assert!((m.correlation() - 1.0).abs() < 1e-12);
        let (a, b) = m.line_x_on_y();
        assert!((a - 1.0).abs() < 1e-9 && (b - 2.0).abs() < 1e-9);
    }
}
