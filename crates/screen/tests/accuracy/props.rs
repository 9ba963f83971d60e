//! Invariants of every detector, whatever the input: no panic on NaN, null, infinite,
//! empty, unsorted or duplicated rows; scores in [0, 1]; windows inside the input.

use arrow_array::{Array, Float64Array, Int64Array, StringArray, UInt8Array};
use proptest::collection::vec;
use proptest::prelude::*;
use screen::generator;
use screen::{Channel, ChannelMeta, Config, Flags, Input, Series, Signature};

const T0: i64 = 1_793_462_400;
const FACTORS: [&str; 6] = ["a21026", "a19001", "a00000", "a34013", "a21002", "w01018"];

fn cell() -> impl Strategy<Value = (Option<f64>, u8)> {
    let value = prop_oneof![
        2 => Just(None),
        1 => Just(Some(f64::NAN)),
        1 => Just(Some(f64::INFINITY)),
        1 => Just(Some(0.0)),
        3 => Just(Some(12.5)),
        8 => (-10.0..400.0f64).prop_map(Some),
    ];
    (value, prop::sample::select(b"NNNNFMSDCTBX ".to_vec()))
}

/// A series with arbitrary rows: times on a grid (sorted or scrambled, with duplicates),
/// now and then a time far off the grid; text or code flags.
fn arb_series() -> impl Strategy<Value = Series> {
    (
        0usize..240,
        prop::sample::select(vec![600i64, 3600]),
        1usize..=FACTORS.len(),
        any::<bool>(),
    )
        .prop_flat_map(|(n, interval, k, text)| {
            (
                Just(interval),
                vec(prop_oneof![20 => 0i64..300, 1 => any::<i64>()], n),
                vec(vec(cell(), n), k),
                any::<bool>(),
                Just(text),
            )
        })
        .prop_map(|(interval, slots, cols, sorted, text)| {
            let mut slots = slots;
            if sorted {
                slots.sort();
            }
            let time = Int64Array::from_iter_values(slots.iter().map(|&s| {
                if (0..300).contains(&s) {
                    T0 + s * interval
                } else {
                    s
                }
            }));
            let channels = cols
                .into_iter()
                .enumerate()
                .map(|(k, col)| Channel {
                    factor: FACTORS[k].to_owned(),
                    values: Float64Array::from(col.iter().map(|c| c.0).collect::<Vec<_>>()),
                    flags: if text {
                        Flags::Text(StringArray::from_iter(
                            col.iter()
                                .map(|c| (c.1 != b' ').then(|| char::from(c.1).to_string())),
                        ))
                    } else {
                        Flags::Code(UInt8Array::from_iter(
                            col.iter().map(|c| (c.1 != b' ').then_some(c.1)),
                        ))
                    },
                    meta: ChannelMeta::default(),
                })
                .collect();
            Series::new("MN", "排口", "thermal_power", interval, time, channels)
                .expect("consistent lengths")
        })
}

/// Rows of a series in another order (every array permuted alike).
fn permuted(s: &Series, order: &[usize]) -> Series {
    let time = Int64Array::from_iter_values(order.iter().map(|&i| s.time.value(i)));
    let channels = s
        .channels
        .iter()
        .map(|c| Channel {
            factor: c.factor.clone(),
            values: Float64Array::from_iter(
                order
                    .iter()
                    .map(|&i| (!c.values.is_null(i)).then(|| c.values.value(i))),
            ),
            flags: Flags::Code(UInt8Array::from_iter_values(
                order.iter().map(|&i| c.flags.code(i)),
            )),
            meta: c.meta.clone(),
        })
        .collect();
    let mut out = Series::new(
        s.mn.clone(),
        s.outlet.clone(),
        s.industry.clone(),
        s.interval,
        time,
        channels,
    )
    .expect("same lengths");
    out.events = s.events.clone();
    out
}

/// Screens `batch` and checks every finding against its input's time span.
fn check(batch: &[Series], history: bool) -> Result<(), TestCaseError> {
    let config = Config::default();
    let inputs: Vec<Input> = batch
        .iter()
        .map(|s| Input {
            series: s,
            history: history.then_some(s),
        })
        .collect();
    let report = screen::screen(&inputs, &config, 1, &|_| {});
    prop_assert_eq!(report.results.len(), batch.len());
    for (s, r) in batch.iter().zip(report.results) {
        let Ok(findings) = r else { continue };
        let times: Vec<i64> = (0..s.time.len())
            .filter(|&i| s.time.is_valid(i))
            .map(|i| s.time.value(i))
            .collect();
        let (lo, hi) = (times.iter().min().copied(), times.iter().max().copied());
        for f in findings {
            prop_assert!(
                (0.0..=1.0).contains(&f.score),
                "{:?} score {}",
                f.signature,
                f.score
            );
            prop_assert!(f.start < f.end, "{:?} {}..{}", f.signature, f.start, f.end);
            let (lo, hi) = (lo.expect("a finding needs rows"), hi.expect("rows"));
            // Grid slots are rounded to the nearest interval.
            let slack = s.interval / 2;
            prop_assert!(
                f.start >= lo - slack && f.end <= hi + s.interval + slack,
                "{:?} window {}..{} outside {}..{}",
                f.signature,
                f.start,
                f.end,
                lo,
                hi
            );
            prop_assert!(!f.explanation.is_empty());
            prop_assert!(
                f.factor.is_none()
                    || s.channels
                        .iter()
                        .any(|c| Some(&c.factor) == f.factor.as_ref())
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_rows_never_break_a_detector(batch in vec(arb_series(), 1..4), history in any::<bool>()) {
        check(&batch, history)?;
    }

    #[test]
    fn generated_outlets_in_any_row_order(seed in any::<u64>(), k in 0usize..Signature::ALL.len(), shuffle in any::<u64>()) {
        let config = Config::default();
        let industry = generator::INDUSTRIES[(seed % 5) as usize];
        let s = Signature::ALL[k];
        // Dilution needs O2, which wastewater lacks.
        let inject = (!(s == Signature::Dilution && industry == "wastewater")).then_some(s);
        let o = generator::outlet(seed, "SIM1", industry, T0, 4, T0 + 86_400, inject, &config);
        let n = o.series[0].time.len();
        let mut order: Vec<usize> = (0..n).collect();
        // A deterministic shuffle from the seed.
        let mut state = shuffle | 1;
        for i in (1..n).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        check(&[permuted(&o.series[0], &order), o.series[1].clone()], true)?;
    }
}

#[test]
fn empty_and_single_row_series_screen_to_nothing() {
    let config = Config::default();
    let empty = Series::new(
        "MN",
        "排口",
        "cement",
        600,
        Int64Array::from(Vec::<i64>::new()),
        vec![],
    )
    .unwrap();
    let one = Series::new(
        "MN2",
        "排口",
        "cement",
        600,
        Int64Array::from(vec![T0]),
        vec![Channel {
            factor: "a21026".into(),
            values: Float64Array::from(vec![Some(f64::NAN)]),
            flags: Flags::None,
            meta: ChannelMeta::default(),
        }],
    )
    .unwrap();
    let inputs = [
        Input {
            series: &empty,
            history: None,
        },
        Input {
            series: &one,
            history: Some(&empty),
        },
    ];
    let report = screen::screen(&inputs, &config, 2, &|_| {});
    for r in report.results {
        assert!(r.unwrap().is_empty());
    }
}
