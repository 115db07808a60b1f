//! Builtins: arithmetic and elementary functions on numbers, and random numbers.
//!
//! Most are thin wrappers over `f64` methods. Deliberate choices: `mod` is the
//! remainder with the dividend's sign (like `%` in C and Rust) and rejects a zero
//! divisor; `rou` rounds halves away from zero (`rou 2.5` is 3, as the reference
//! implementation does); `rnd` uses a per-thread xorshift generator, which is fast and
//! needs no dependency but is not for cryptography.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use super::convert::{num_arg, nums_arg};
use super::BuiltinDef;
use crate::error::{codes, RtError, RtResult};
use crate::value::Value;

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "abs", min_args: 1, max_args: 1, f: abs },
    BuiltinDef { name: "min", min_args: 1, max_args: 2, f: min },
    BuiltinDef { name: "max", min_args: 1, max_args: 2, f: max },
    BuiltinDef { name: "mod", min_args: 2, max_args: 2, f: modulo },
    BuiltinDef { name: "flr", min_args: 1, max_args: 1, f: flr },
    BuiltinDef { name: "cel", min_args: 1, max_args: 1, f: cel },
    BuiltinDef { name: "rou", min_args: 1, max_args: 1, f: rou },
    BuiltinDef { name: "rnd", min_args: 0, max_args: 2, f: rnd },
    BuiltinDef { name: "rndn", min_args: 2, max_args: 2, f: rndn },
    BuiltinDef { name: "pow", min_args: 2, max_args: 2, f: pow },
    BuiltinDef { name: "sqrt", min_args: 1, max_args: 1, f: sqrt },
    BuiltinDef { name: "exp", min_args: 1, max_args: 1, f: exp },
    BuiltinDef { name: "log", min_args: 1, max_args: 1, f: log },
    BuiltinDef { name: "log10", min_args: 1, max_args: 1, f: log10 },
    BuiltinDef { name: "log2", min_args: 1, max_args: 1, f: log2 },
    BuiltinDef { name: "sin", min_args: 1, max_args: 1, f: sin },
    BuiltinDef { name: "cos", min_args: 1, max_args: 1, f: cos },
    BuiltinDef { name: "tan", min_args: 1, max_args: 1, f: tan },
    BuiltinDef { name: "asin", min_args: 1, max_args: 1, f: asin },
    BuiltinDef { name: "acos", min_args: 1, max_args: 1, f: acos },
    BuiltinDef { name: "atan", min_args: 1, max_args: 1, f: atan },
    BuiltinDef { name: "atan2", min_args: 2, max_args: 2, f: atan2 },
    BuiltinDef { name: "clamp", min_args: 3, max_args: 3, f: clamp },
];

/// One builtin per single-argument `f64` function.
macro_rules! unary {
    ($($name:ident => $op:expr;)*) => {$(
        fn $name(args: &[Value]) -> RtResult {
            let op: fn(f64) -> f64 = $op;
            Ok(Value::num(op(num_arg(stringify!($name), &args[0])?)))
        }
    )*};
}

unary! {
    abs => f64::abs;
    flr => f64::floor;
    cel => f64::ceil;
    rou => f64::round;
    sqrt => f64::sqrt;
    exp => f64::exp;
    log => f64::ln;
    log10 => f64::log10;
    log2 => f64::log2;
    sin => f64::sin;
    cos => f64::cos;
    tan => f64::tan;
    asin => f64::asin;
    acos => f64::acos;
    atan => f64::atan;
}

/// The two numbers of a two-argument builtin.
fn two(builtin: &str, args: &[Value]) -> RtResult<(f64, f64)> {
    Ok((num_arg(builtin, &args[0])?, num_arg(builtin, &args[1])?))
}

/// `min a b` / `min xs` (and `max`): `pick` chooses between two numbers.
fn extreme(builtin: &str, args: &[Value], pick: fn(f64, f64) -> f64) -> RtResult {
    if let [xs] = args {
        let xs = nums_arg(builtin, xs)?;
        return xs
            .into_iter()
            .reduce(pick)
            .map(Value::num)
            .ok_or_else(|| RtError::new(codes::DOMAIN, format!("{builtin}: empty list")));
    }
    let (a, b) = two(builtin, args)?;
    Ok(Value::num(pick(a, b)))
}

fn min(args: &[Value]) -> RtResult {
    extreme("min", args, f64::min)
}

fn max(args: &[Value]) -> RtResult {
    extreme("max", args, f64::max)
}

fn modulo(args: &[Value]) -> RtResult {
    let (a, b) = two("mod", args)?;
    remainder(a, b).map(Value::num)
}

/// `mod a b`: C's `fmod` (the dividend's sign, exact), refusing a zero divisor.
///
/// Two integers below 2^62 in magnitude (what counters and keys are) take one
/// integer division: the software `fmod` behind Rust's `%` costs a few hundred
/// instructions. The compiled code's inline version (`codegen/modulo.rs`) tests
/// the same range, so both give the same bits: the integer remainder is exact,
/// and the sign is copied from `a` so that a zero result keeps `-0`.
pub fn remainder(a: f64, b: f64) -> RtResult<f64> {
    if b == 0.0 {
        return Err(RtError::new(codes::DOMAIN, "modulo by zero"));
    }
    match (small_integer(a), small_integer(b)) {
        (Some(x), Some(y)) => Ok(((x % y) as f64).copysign(a)),
        _ => Ok(a % b),
    }
}

/// Magnitude bound of [`remainder`]'s integer path: far from `i64`'s edges, so the
/// conversions are exact and `i64::MIN % -1` cannot arise.
pub const SMALL_INTEGER_BOUND: i64 = 1 << 62;

/// `x` as an `i64` when it is an integer of magnitude below [`SMALL_INTEGER_BOUND`].
fn small_integer(x: f64) -> Option<i64> {
    let i = x as i64;
    (i as f64 == x && i.unsigned_abs() < SMALL_INTEGER_BOUND as u64).then_some(i)
}

fn pow(args: &[Value]) -> RtResult {
    let (b, e) = two("pow", args)?;
    Ok(Value::num(b.powf(e)))
}

/// `atan2 y x`.
fn atan2(args: &[Value]) -> RtResult {
    let (y, x) = two("atan2", args)?;
    Ok(Value::num(y.atan2(x)))
}

/// `clamp x lo hi`: the lower bound wins when `lo > hi`.
fn clamp(args: &[Value]) -> RtResult {
    let (x, lo) = two("clamp", args)?;
    let hi = num_arg("clamp", &args[2])?;
    Ok(Value::num(x.min(hi).max(lo)))
}

// ── random numbers ──

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

/// A non-zero seed from the clock and the thread (via a thread-local's address), so
/// threads started in the same instant still differ.
fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let marker = 0u8;
    let here = &marker as *const u8 as u64;
    (nanos ^ here.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
}

/// A uniform number in [0, 1) from xorshift64*.
fn unit() -> f64 {
    RNG.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        // The top 53 bits of the scrambled state, scaled into [0, 1).
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// `rnd`: a float in [0, 1); `rnd a b`: an integer in [a, b], both inclusive.
fn rnd(args: &[Value]) -> RtResult {
    match args {
        [] => Ok(Value::num(unit())),
        [_, _] => {
            let (a, b) = two("rnd", args)?;
            let (lo, hi) = (a.ceil(), b.floor());
            if lo.is_nan() || hi.is_nan() || lo > hi || !(hi - lo).is_finite() {
                return Err(RtError::new(
                    codes::DOMAIN,
                    format!("rnd: no integer between {a} and {b}"),
                ));
            }
            let n = (lo + (unit() * (hi - lo + 1.0)).floor()).min(hi);
            Ok(Value::num(n))
        }
        _ => Err(RtError::new(codes::CALL, "rnd takes 0 or 2 arguments")),
    }
}

/// `rndn mu sigma`: one normal sample (Box-Muller).
fn rndn(args: &[Value]) -> RtResult {
    let (mu, sigma) = two("rndn", args)?;
    let u1 = 1.0 - unit(); // (0, 1]: keeps ln finite
    let u2 = unit();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    Ok(Value::num(mu + sigma * z))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(x: f64) -> Value {
        Value::num(x)
    }
    fn val(r: RtResult) -> f64 {
        r.unwrap().as_num().expect("a number")
    }

    #[test]
    fn remainder_matches_fmod_to_the_bit() {
        let bound = SMALL_INTEGER_BOUND as f64;
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            3.0,
            -3.0,
            7.0,
            -7.0,
            0.5,
            -5.5,
            1e20,
            -1e300,
            bound,
            -bound,
            bound - 1024.0,
            1.0 - bound,
            9.3e18,
            -9.3e18,
            9_007_199_254_740_993.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        // Plus pseudo-random integers and fractions of every magnitude.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..400 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let scale = 2f64.powi((seed % 70) as i32);
            let x = ((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * scale;
            xs.push(if seed & 1 == 0 { x.trunc() } else { x });
        }
        for &a in &xs {
            for &b in &xs {
                if b == 0.0 {
                    assert_eq!(remainder(a, b).unwrap_err().code, codes::DOMAIN);
                    continue;
                }
                let (got, want) = (remainder(a, b).unwrap(), a % b);
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "mod {a} {b}: {got} but fmod gives {want}"
                );
            }
        }
    }

    #[test]
    fn rounding_family() {
        assert_eq!(val(flr(&[n(-2.5)])), -3.0);
        assert_eq!(val(cel(&[n(1.2)])), 2.0);
        assert_eq!(val(rou(&[n(2.5)])), 3.0);
        assert_eq!(val(rou(&[n(-2.5)])), -3.0);
        assert_eq!(val(rou(&[n(2.4)])), 2.0);
        assert_eq!(val(abs(&[n(-4.0)])), 4.0);
        assert_eq!(abs(&[Value::text("x")]).unwrap_err().code, codes::TYPE);
    }

    #[test]
    fn min_max_take_two_numbers_or_a_list() {
        assert_eq!(val(min(&[n(3.0), n(1.0)])), 1.0);
        assert_eq!(val(max(&[n(3.0), n(1.0)])), 3.0);
        let xs = Value::list(vec![n(3.0), n(9.0), n(1.0)]);
        assert_eq!(val(max(std::slice::from_ref(&xs))), 9.0);
        assert_eq!(val(min(&[xs])), 1.0);
        let e = min(&[Value::list(vec![])]).unwrap_err();
        assert_eq!(e.to_string(), "ILO-R004: min: empty list");
    }

    #[test]
    fn modulo_keeps_the_dividend_sign_and_rejects_zero() {
        assert_eq!(val(modulo(&[n(7.0), n(3.0)])), 1.0);
        assert_eq!(val(modulo(&[n(-7.0), n(3.0)])), -1.0);
        assert_eq!(val(modulo(&[n(7.5), n(2.0)])), 1.5);
        let e = modulo(&[n(7.0), n(0.0)]).unwrap_err();
        assert_eq!(e.to_string(), "ILO-R004: modulo by zero");
    }

    #[test]
    fn elementary_functions() {
        assert_eq!(val(pow(&[n(2.0), n(10.0)])), 1024.0);
        assert_eq!(val(sqrt(&[n(16.0)])), 4.0);
        assert_eq!(val(exp(&[n(0.0)])), 1.0);
        assert_eq!(val(log(&[n(1.0)])), 0.0);
        assert_eq!(val(flr(&[Value::num(val(log10(&[n(1000.0)])))])), 3.0);
        assert_eq!(val(log2(&[n(8.0)])), 3.0);
        assert_eq!(val(sin(&[n(0.0)])), 0.0);
        assert_eq!(val(cos(&[n(0.0)])), 1.0);
        assert_eq!(val(tan(&[n(0.0)])), 0.0);
        assert_eq!(val(asin(&[n(1.0)])), std::f64::consts::FRAC_PI_2);
        assert!(val(acos(&[n(2.0)])).is_nan());
        assert_eq!(val(atan(&[n(0.0)])), 0.0);
        assert_eq!(
            Value::num(val(atan2(&[n(1.0), n(1.0)]))).to_string(),
            "0.7853981633974483"
        );
    }

    #[test]
    fn clamp_prefers_the_lower_bound() {
        assert_eq!(val(clamp(&[n(15.0), n(0.0), n(10.0)])), 10.0);
        assert_eq!(val(clamp(&[n(-1.0), n(0.0), n(10.0)])), 0.0);
        assert_eq!(val(clamp(&[n(5.0), n(8.0), n(2.0)])), 8.0);
    }

    #[test]
    fn random_numbers_stay_in_range() {
        let mut seen = [false; 3];
        for _ in 0..1000 {
            let u = val(rnd(&[]));
            assert!((0.0..1.0).contains(&u));
            let k = val(rnd(&[n(1.0), n(3.0)]));
            assert!(k.fract() == 0.0 && (1.0..=3.0).contains(&k), "{k}");
            seen[k as usize - 1] = true;
        }
        assert_eq!(seen, [true; 3], "every value of a small range appears");
        assert_eq!(rnd(&[n(3.0), n(1.0)]).unwrap_err().code, codes::DOMAIN);
    }

    #[test]
    fn normal_samples_centre_on_mu() {
        let k = 4000;
        let mean: f64 = (0..k).map(|_| val(rndn(&[n(10.0), n(2.0)]))).sum::<f64>() / k as f64;
        assert!((mean - 10.0).abs() < 0.3, "{mean}");
        assert_eq!(val(rndn(&[n(5.0), n(0.0)])), 5.0);
    }
}
