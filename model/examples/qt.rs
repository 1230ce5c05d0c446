use instrunet_model::cpu::CpuNet;
fn main() {
    let w =
        instrunet_model::Weights::from_file("model/weights/instrunet-default.safetensors").unwrap();
    let net = CpuNet::new(&w);
    let mut s = net.scratch();
    let x: Vec<f32> = (0..128 * 128)
        .map(|i| ((i * 7919) % 1000) as f32 / 25.0 - 60.0)
        .collect();
    let mut o = vec![0.0; 14];
    for _ in 0..20 {
        net.logits(&x, &mut s, &mut o).unwrap();
    }
    let t = std::time::Instant::now();
    for _ in 0..300 {
        net.logits(&x, &mut s, &mut o).unwrap();
    }
    println!(
        "whole net: {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / 300.0
    );
}
