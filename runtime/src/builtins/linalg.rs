//! Builtins: linear algebra on row-major matrices (`transpose`, `matmul`, `dot`,
//! `solve`, `inv`, `det`) and the radix-2 FFT (`fft`, `ifft`).
//!
//! Matrices are lists of equally long numeric row lists. `solve`, `inv` and `det` share
//! one LU decomposition with partial pivoting; a pivot that is (numerically) zero means
//! the matrix is singular, which is an error for `solve`/`inv` and a 0 for `det`.

use super::convert::{list_arg, nums_arg};
use super::stats::total;
use super::BuiltinDef;
use crate::error::{codes, RtError, RtResult};
use crate::value::Value;

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "transpose", min_args: 1, max_args: 1, f: transpose },
    BuiltinDef { name: "matmul", min_args: 2, max_args: 2, f: matmul },
    BuiltinDef { name: "dot", min_args: 2, max_args: 2, f: dot },
    BuiltinDef { name: "solve", min_args: 2, max_args: 2, f: solve },
    BuiltinDef { name: "inv", min_args: 1, max_args: 1, f: inv },
    BuiltinDef { name: "det", min_args: 1, max_args: 1, f: det },
    BuiltinDef { name: "fft", min_args: 1, max_args: 1, f: fft },
    BuiltinDef { name: "ifft", min_args: 1, max_args: 1, f: ifft },
];

/// Pivots smaller than this count as zero.
const SINGULAR_EPS: f64 = 1e-12;

type Matrix = Vec<Vec<f64>>;

fn domain(builtin: &str, what: &str) -> RtError {
    RtError::new(codes::DOMAIN, format!("{builtin}: {what}"))
}

/// A rectangular numeric matrix.
fn matrix_arg(builtin: &str, v: &Value) -> RtResult<Matrix> {
    let rows = list_arg(builtin, v)?
        .iter()
        .map(|row| nums_arg(builtin, row))
        .collect::<RtResult<Matrix>>()?;
    if rows.iter().any(|r| r.len() != rows[0].len()) {
        return Err(domain(builtin, "rows have different lengths"));
    }
    Ok(rows)
}

fn square_arg(builtin: &str, v: &Value) -> RtResult<Matrix> {
    let m = matrix_arg(builtin, v)?;
    if m.iter().any(|r| r.len() != m.len()) {
        return Err(domain(builtin, "matrix is not square"));
    }
    Ok(m)
}

fn vector(xs: Vec<f64>) -> Value {
    Value::list(xs.into_iter().map(Value::num).collect())
}

fn matrix(m: Matrix) -> Value {
    Value::list(m.into_iter().map(vector).collect())
}

fn transpose(args: &[Value]) -> RtResult {
    let m = matrix_arg("transpose", &args[0])?;
    let cols = m.first().map_or(0, Vec::len);
    Ok(matrix(
        (0..cols)
            .map(|c| m.iter().map(|row| row[c]).collect())
            .collect(),
    ))
}

fn matmul(args: &[Value]) -> RtResult {
    let a = matrix_arg("matmul", &args[0])?;
    let b = matrix_arg("matmul", &args[1])?;
    let inner = a.first().map_or(0, Vec::len);
    if inner != b.len() {
        return Err(domain(
            "matmul",
            &format!("cannot multiply {}x{inner} by {}x..", a.len(), b.len()),
        ));
    }
    let cols = b.first().map_or(0, Vec::len);
    Ok(matrix(
        a.iter()
            .map(|row| {
                (0..cols)
                    .map(|c| total(row.iter().zip(&b).map(|(x, brow)| x * brow[c])))
                    .collect()
            })
            .collect(),
    ))
}

fn dot(args: &[Value]) -> RtResult {
    let a = nums_arg("dot", &args[0])?;
    let b = nums_arg("dot", &args[1])?;
    if a.len() != b.len() {
        return Err(domain("dot", "vectors have different lengths"));
    }
    Ok(Value::num(total(a.iter().zip(&b).map(|(x, y)| x * y))))
}

/// An LU decomposition `P·A = L·U`, packed: `lu` holds U on and above the diagonal and
/// L's multipliers below it; `perm[i]` is the original row now at row `i`.
struct Lu {
    lu: Matrix,
    perm: Vec<usize>,
    /// +1 or -1: the parity of the row swaps, for the determinant.
    sign: f64,
    singular: bool,
}

fn decompose(mut a: Matrix) -> Lu {
    let n = a.len();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut sign = 1.0;
    let mut singular = false;
    for k in 0..n {
        let p = (k..n)
            .max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs()))
            .unwrap_or(k);
        if a[p][k].abs() < SINGULAR_EPS {
            singular = true;
            continue;
        }
        if p != k {
            a.swap(p, k);
            perm.swap(p, k);
            sign = -sign;
        }
        let (upper, lower) = a.split_at_mut(k + 1);
        let pivot_row = &upper[k];
        for row in lower {
            let f = row[k] / pivot_row[k];
            row[k] = f;
            for (x, p) in row[k + 1..].iter_mut().zip(&pivot_row[k + 1..]) {
                *x -= f * p;
            }
        }
    }
    Lu {
        lu: a,
        perm,
        sign,
        singular,
    }
}

impl Lu {
    /// Solve `A·x = b` by forward then back substitution (not singular).
    fn solve(&self, b: &[f64]) -> Vec<f64> {
        let n = self.lu.len();
        let mut x: Vec<f64> = self.perm.iter().map(|&i| b[i]).collect();
        for i in 0..n {
            for j in 0..i {
                x[i] -= self.lu[i][j] * x[j];
            }
        }
        for i in (0..n).rev() {
            for j in i + 1..n {
                x[i] -= self.lu[i][j] * x[j];
            }
            x[i] /= self.lu[i][i];
        }
        x
    }
}

fn invertible(builtin: &str, v: &Value) -> RtResult<Lu> {
    let lu = decompose(square_arg(builtin, v)?);
    if lu.singular {
        return Err(domain(builtin, "matrix is singular"));
    }
    Ok(lu)
}

fn solve(args: &[Value]) -> RtResult {
    let lu = invertible("solve", &args[0])?;
    let b = nums_arg("solve", &args[1])?;
    if b.len() != lu.lu.len() {
        return Err(domain("solve", "right-hand side has the wrong length"));
    }
    Ok(vector(lu.solve(&b)))
}

fn inv(args: &[Value]) -> RtResult {
    let lu = invertible("inv", &args[0])?;
    let n = lu.lu.len();
    let columns: Matrix = (0..n)
        .map(|c| lu.solve(&(0..n).map(|r| f64::from(r == c)).collect::<Vec<_>>()))
        .collect();
    // The solves give the inverse's columns; return it row-major.
    Ok(matrix(
        (0..n)
            .map(|r| columns.iter().map(|col| col[r]).collect())
            .collect(),
    ))
}

fn det(args: &[Value]) -> RtResult {
    let lu = decompose(square_arg("det", &args[0])?);
    if lu.singular {
        return Ok(Value::num(0.0));
    }
    let diag: f64 = (0..lu.lu.len()).map(|i| lu.lu[i][i]).product();
    Ok(Value::num(lu.sign * diag))
}

/// In-place iterative radix-2 Cooley-Tukey; `re.len()` must be a power of two.
/// `inverse` flips the twiddle sign (the caller divides by n).
fn transform(re: &mut [f64], im: &mut [f64], inverse: bool) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let dir = if inverse { 1.0 } else { -1.0 };
    let mut len = 2;
    while len <= n {
        let ang = dir * std::f64::consts::TAU / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = (ang * k as f64).sin_cos();
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * c - im[b] * s;
                let ti = re[b] * s + im[b] * c;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

/// `fft xs`: real samples, zero-padded to a power of two, to `[[re, im], …]`.
fn fft(args: &[Value]) -> RtResult {
    let mut re = nums_arg("fft", &args[0])?;
    if re.is_empty() {
        return Ok(Value::list(vec![]));
    }
    re.resize(re.len().next_power_of_two(), 0.0);
    let mut im = vec![0.0; re.len()];
    transform(&mut re, &mut im, false);
    Ok(matrix(
        re.into_iter().zip(im).map(|(r, i)| vec![r, i]).collect(),
    ))
}

/// `ifft pairs`: the inverse of `fft`, keeping only the real parts.
fn ifft(args: &[Value]) -> RtResult {
    let pairs = list_arg("ifft", &args[0])?;
    let mut re = Vec::with_capacity(pairs.len());
    let mut im = Vec::with_capacity(pairs.len());
    for p in pairs {
        match nums_arg("ifft", p)?.as_slice() {
            &[r, i] => {
                re.push(r);
                im.push(i);
            }
            _ => return Err(domain("ifft", "expected [re, im] pairs")),
        }
    }
    if re.is_empty() {
        return Ok(Value::list(vec![]));
    }
    let n = re.len().next_power_of_two();
    re.resize(n, 0.0);
    im.resize(n, 0.0);
    transform(&mut re, &mut im, true);
    Ok(vector(re.into_iter().map(|r| r / n as f64).collect()))
}

#[cfg(test)]
mod tests {
    use super::super::test_values::show;
    use super::*;

    fn vecv(xs: &[f64]) -> Value {
        vector(xs.to_vec())
    }
    fn mat(rows: &[&[f64]]) -> Value {
        Value::list(rows.iter().map(|r| vecv(r)).collect())
    }
    fn close(a: &Value, b: &[f64]) -> bool {
        let a = nums_arg("test", a).unwrap();
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn transpose_matmul_dot() {
        let m = mat(&[&[1.0, 2.0], &[3.0, 4.0]]);
        assert_eq!(
            show(transpose(std::slice::from_ref(&m))),
            "[[1, 3], [2, 4]]"
        );
        assert_eq!(
            show(transpose(&[mat(&[&[1.0, 2.0, 3.0]])])),
            "[[1], [2], [3]]"
        );
        let id = mat(&[&[1.0, 0.0], &[0.0, 1.0]]);
        assert_eq!(show(matmul(&[m.clone(), id])), "[[1, 2], [3, 4]]");
        assert_eq!(show(matmul(&[m.clone(), m.clone()])), "[[7, 10], [15, 22]]");
        let e = matmul(&[m, mat(&[&[1.0]])]).unwrap_err();
        assert_eq!(e.code, codes::DOMAIN);
        assert_eq!(show(dot(&[vecv(&[1.0, 2.0]), vecv(&[3.0, 4.0])])), "11");
        assert!(dot(&[vecv(&[1.0]), vecv(&[3.0, 4.0])]).is_err());
        let ragged = Value::list(vec![vecv(&[1.0]), vecv(&[1.0, 2.0])]);
        assert_eq!(transpose(&[ragged]).unwrap_err().code, codes::DOMAIN);
    }

    #[test]
    fn determinant() {
        assert_eq!(show(det(&[mat(&[&[1.0, 2.0], &[3.0, 4.0]])])), "-2");
        assert_eq!(show(det(&[mat(&[&[1.0, 2.0], &[2.0, 4.0]])])), "0");
        let m3 = mat(&[&[2.0, 0.0, 1.0], &[1.0, 3.0, 2.0], &[1.0, 1.0, 2.0]]);
        assert!((det(&[m3]).unwrap().as_num().unwrap() - 6.0).abs() < 1e-12);
        assert!(det(&[mat(&[&[1.0, 2.0]])]).is_err());
    }

    #[test]
    fn solve_and_inverse() {
        let a = mat(&[&[2.0, 0.0], &[0.0, 4.0]]);
        assert_eq!(show(solve(&[a, vecv(&[2.0, 8.0])])), "[1, 2]");
        let b = mat(&[&[0.0, 1.0], &[2.0, 3.0]]);
        let x = solve(&[b.clone(), vecv(&[1.0, 8.0])]).unwrap();
        assert!(close(&x, &[2.5, 1.0]), "{x}");
        let i = inv(&[b]).unwrap();
        let rows = i.as_list().unwrap();
        assert!(
            close(&rows[0], &[-1.5, 0.5]) && close(&rows[1], &[1.0, 0.0]),
            "{i}"
        );
        let sing = mat(&[&[1.0, 2.0], &[2.0, 4.0]]);
        let e = inv(std::slice::from_ref(&sing)).unwrap_err();
        assert_eq!(e.to_string(), "ILO-R004: inv: matrix is singular");
        assert!(solve(&[sing, vecv(&[1.0, 1.0])]).is_err());
    }

    #[test]
    fn fft_round_trips_and_pads() {
        let spectrum = fft(&[vecv(&[1.0, 1.0, 1.0])]).unwrap();
        let bins = spectrum.as_list().unwrap();
        assert_eq!(bins.len(), 4, "padded to a power of two");
        assert!(close(&bins[0], &[3.0, 0.0]));
        assert!(close(&bins[1], &[0.0, -1.0]));
        assert!(close(&bins[2], &[1.0, 0.0]));
        let back = ifft(&[spectrum]).unwrap();
        assert!(close(&back, &[1.0, 1.0, 1.0, 0.0]), "{back}");
        assert_eq!(show(fft(&[vecv(&[])])), "[]");
        assert!(ifft(&[Value::list(vec![vecv(&[1.0])])]).is_err());
    }
}
