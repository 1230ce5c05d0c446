//! The training curves as a PNG.

use std::path::Path;

use crate::train::EpochLog;

/// The training curves as a PNG: losses and validation metrics per epoch.
pub fn plot_curves(log: &[EpochLog], path: &Path, title: &str) -> anyhow::Result<()> {
    use plotters::prelude::*;
    crate::plot::register_font()?;
    let root = BitMapBackend::new(path, (1000, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let epochs = log.len().max(1) as f64;
    let max_loss = log
        .iter()
        .flat_map(|e| [e.train_loss, e.val_loss])
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.1;
    type Series = (&'static str, RGBColor, fn(&EpochLog) -> f64);
    let losses: [Series; 2] = [
        ("train (weighted, augmented)", BLUE, |e| e.train_loss),
        ("validation", RED, |e| e.val_loss),
    ];
    let metrics: [Series; 3] = [
        ("mAP", BLUE, |e| e.val_map),
        ("macro F1", RED, |e| e.val_macro_f1),
        ("weighted F1", GREEN, |e| e.val_weighted_f1),
    ];
    let panel = |area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
                 caption: String,
                 y_max: f64,
                 y_desc: &str,
                 series: &[Series],
                 legend: SeriesLabelPosition|
     -> anyhow::Result<()> {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0.5..epochs + 0.5, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(y_desc)
            .draw()?;
        for &(name, color, f) in series {
            chart
                .draw_series(LineSeries::new(
                    log.iter().map(|e| (e.epoch as f64, f(e))),
                    color.stroke_width(2),
                ))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    };
    panel(
        &left,
        format!("{title}: loss"),
        max_loss,
        "BCE",
        &losses,
        SeriesLabelPosition::UpperRight,
    )?;
    panel(
        &right,
        format!("{title}: validation"),
        1.0,
        "",
        &metrics,
        SeriesLabelPosition::LowerRight,
    )?;
    root.present()?;
    Ok(())
}
