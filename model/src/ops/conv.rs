//! 3×3 padding-1 convolution with bias as a candle `CustomOp3` (Winograd F(4×4, 3×3) per image
//! where the channel counts allow, else im2col + `gemm`), with its backward: grad-input is the same convolution of the output gradient with the filters
//! flipped and transposed; grad-weight is `Σₙ grad_yₙ · im2col(xₙ)ᵀ`; grad-bias sums the output
//! gradient.

use candle_core::{CpuStorage, CustomOp3, Device, Layout, Result, Shape, Tensor, bail};
use gemm::Parallelism;

use super::{SharedMut, f32_slice, parallel_ranges, tensor_values};
use crate::kernels::im2col;
use crate::kernels::lanes::LANES;
use crate::kernels::winograd::{self, WinogradConv};

const NAME: &str = "instrunet-conv3x3";

/// `conv2d(x, weight, padding 1) + bias` for `x` of shape `(n, c_in, h, w)`, `weight`
/// `(c_out, c_in, 3, 3)` and `bias` `(c_out)`, with the batch spread over `threads` threads.
pub fn conv3x3(x: &Tensor, weight: &Tensor, bias: &Tensor, threads: usize) -> Result<Tensor> {
    let (_, c_in, _, _) = x.dims4()?;
    let (c_out, c_in_w, kh, kw) = weight.dims4()?;
    if c_in != c_in_w || kh != 3 || kw != 3 || bias.dims1()? != c_out {
        bail!(
            "{NAME}: x {:?}, weight {:?}, bias {:?} do not fit",
            x.shape(),
            weight.shape(),
            bias.shape()
        );
    }
    x.apply_op3(weight, bias, Conv3x3 { threads })
}

struct Conv3x3 {
    threads: usize,
}

/// Convolves `n` images (`c_in × h × w` each) with `weight`, adding `bias` when given: Winograd
/// F(4×4, 3×3) when both channel counts are multiples of eight (4× fewer multiplications), else
/// im2col + `gemm`.
#[allow(clippy::too_many_arguments)]
fn forward(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    c_in: usize,
    c_out: usize,
    h: usize,
    w: usize,
    threads: usize,
    out: &mut [f32],
) {
    let (hw, per_in, per_out) = (h * w, c_in * h * w, c_out * h * w);
    let shared = SharedMut::new(out);
    if c_in.is_multiple_of(LANES) && c_out.is_multiple_of(LANES) {
        let zeros = vec![0.0; if bias.is_some() { 0 } else { c_out }];
        let conv = WinogradConv::new(weight, bias.unwrap_or(&zeros), c_in);
        let (p, v, m) = winograd::scratch_sizes(c_in, c_out, h, w);
        parallel_ranges(n, threads, |images, _| {
            let (mut pad, mut v, mut m) = (vec![0.0; p], vec![0.0; v], vec![0.0; m]);
            for i in images {
                // SAFETY: each image's output range is written by one worker only.
                let o = unsafe { shared.slice(i * per_out, per_out) };
                conv.forward_planar(
                    &x[i * per_in..(i + 1) * per_in],
                    h,
                    w,
                    &mut pad,
                    &mut v,
                    &mut m,
                    o,
                );
            }
        });
        return;
    }
    parallel_ranges(n, threads, |images, _| {
        let mut col = vec![0.0; c_in * 9 * hw];
        for i in images {
            // SAFETY: each image's output range is written by one worker only.
            let o = unsafe { shared.slice(i * per_out, per_out) };
            im2col::conv3x3(
                &x[i * per_in..(i + 1) * per_in],
                weight,
                c_in,
                c_out,
                h,
                w,
                &mut col,
                o,
            );
            if let Some(b) = bias {
                for (plane, &bc) in o.chunks_exact_mut(hw).zip(b) {
                    plane.iter_mut().for_each(|v| *v += bc);
                }
            }
        }
    });
}

impl CustomOp3 for Conv3x3 {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(NAME, "input", s1, l1)?;
        let weight = f32_slice(NAME, "weight", s2, l2)?;
        let bias = f32_slice(NAME, "bias", s3, l3)?;
        let (n, c_in, h, w) = l1.shape().dims4()?;
        let c_out = bias.len();
        let mut out = vec![0.0; n * c_out * h * w];
        forward(
            x,
            weight,
            Some(bias),
            n,
            c_in,
            c_out,
            h,
            w,
            self.threads,
            &mut out,
        );
        Ok((CpuStorage::F32(out), Shape::from((n, c_out, h, w))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c_in, h, w) = x.dims4()?;
        let c_out = weight.dim(0)?;
        let (hw, k) = (h * w, c_in * 9);
        let threads = self.threads;
        tensor_values(NAME, grad, |g| {
            // grad-weight: per worker, summed over its images, then the partial sums added.
            let workers = threads.clamp(1, n.max(1));
            let winograd = c_in % LANES == 0 && c_out % LANES == 0;
            // Winograd: the gradient of the 36 transformed filters (c_in × c_out each); else
            // Σ grad_yₙ (c_out × hw) · colₙᵀ (hw × k).
            // Each worker's partial sums: the weight gradient, then the bias gradient (c_out).
            let per_weight = if winograd {
                36 * c_in * c_out
            } else {
                c_out * k
            };
            let per_worker = per_weight + c_out;
            let mut partial = vec![0.0f32; workers * per_worker];
            tensor_values(NAME, x, |xv| {
                let shared = SharedMut::new(&mut partial);
                parallel_ranges(n, threads, |images, worker| {
                    // SAFETY: each worker owns its own partial sum.
                    let (acc, bias_acc) = unsafe { shared.slice(worker * per_worker, per_worker) }
                        .split_at_mut(per_weight);
                    for i in images.clone() {
                        let gy = &g[i * c_out * hw..(i + 1) * c_out * hw];
                        for (gb, plane) in bias_acc.iter_mut().zip(gy.chunks_exact(hw)) {
                            *gb += plane.iter().sum::<f32>();
                        }
                    }
                    if winograd {
                        let (p, v, m) = winograd::scratch_sizes(c_in, c_out, h, w);
                        let (mut pad, mut v, mut dm) = (vec![0.0; p], vec![0.0; v], vec![0.0; m]);
                        for i in images {
                            let xi = &xv[i * c_in * hw..(i + 1) * c_in * hw];
                            let gy = &g[i * c_out * hw..(i + 1) * c_out * hw];
                            winograd::filter_gradient(
                                xi, gy, c_in, c_out, h, w, &mut pad, &mut v, &mut dm, acc,
                            );
                        }
                        return;
                    }
                    let mut col = vec![0.0; k * hw];
                    for i in images {
                        im2col::im2col_3x3(
                            &xv[i * c_in * hw..(i + 1) * c_in * hw],
                            c_in,
                            h,
                            w,
                            &mut col,
                        );
                        let gy = &g[i * c_out * hw..(i + 1) * c_out * hw];
                        // SAFETY: gy is c_out × hw row-major; col read as its transpose
                        // (hw × k: row stride 1, column stride hw); acc is c_out × k row-major;
                        // all in bounds and acc aliases neither.
                        unsafe {
                            gemm::gemm(
                                c_out,
                                k,
                                hw,
                                acc.as_mut_ptr(),
                                1,
                                k as isize,
                                true,
                                gy.as_ptr(),
                                1,
                                hw as isize,
                                col.as_ptr(),
                                hw as isize,
                                1,
                                1.0,
                                1.0,
                                false,
                                false,
                                false,
                                Parallelism::None,
                            );
                        }
                    }
                });
                Ok(())
            })?;
            let mut summed = vec![0.0f32; per_worker];
            for p in partial.chunks_exact(per_worker) {
                summed.iter_mut().zip(p).for_each(|(a, b)| *a += b);
            }
            let grad_bias = summed.split_off(per_weight);
            let grad_weight = if winograd {
                winograd::filter_gradient_to_weights(&summed, c_in, c_out)
            } else {
                summed
            };
            // grad-input: only when the input needs it (not for the network's first layer).
            let grad_x = if x.track_op() {
                let flipped = tensor_values(NAME, weight, |wv| {
                    let mut f = vec![0.0f32; c_in * c_out * 9];
                    for co in 0..c_out {
                        for ci in 0..c_in {
                            for t in 0..9 {
                                f[(ci * c_out + co) * 9 + t] = wv[(co * c_in + ci) * 9 + (8 - t)];
                            }
                        }
                    }
                    Ok(f)
                })?;
                let mut gx = vec![0.0f32; n * c_in * hw];
                forward(g, &flipped, None, n, c_out, c_in, h, w, threads, &mut gx);
                Some(Tensor::from_vec(gx, (n, c_in, h, w), &Device::Cpu)?)
            } else {
                None
            };
            Ok((
                grad_x,
                Some(Tensor::from_vec(
                    grad_weight,
                    (c_out, c_in, 3, 3),
                    &Device::Cpu,
                )?),
                Some(Tensor::from_vec(grad_bias, c_out, &Device::Cpu)?),
            ))
        })
    }
}
