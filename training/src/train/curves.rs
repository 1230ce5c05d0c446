//! The training curves as a PNG.

use std::path::Path;

use crate::train::EpochLog;

/// The training curves as a PNG: losses and validation metrics per epoch, and a fine-tune's
/// starting weights' validation mAP (`starting_map`) as a dashed line, the mark to beat.
pub fn plot_curves(
    log: &[EpochLog],
    starting_map: Option<f64>,
    path: &Path,
    title: &str,
) -> anyhow::Result<()> {
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
        // Headroom above the highest loss for the legend, which sits at the top right.
        * 1.4;
    type Series = (&'static str, RGBColor, fn(&EpochLog) -> f64);
    let losses: [Series; 2] = [
        ("train (the run's loss: weighted, augmented)", BLUE, |e| {
            e.train_loss
        }),
        ("validation (BCE)", RED, |e| e.val_loss),
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
                 mark: Option<f64>,
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
            // Epochs are whole: label only the whole numbers among the ticks plotters picks.
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-6 {
                    format!("{}", x.round())
                } else {
                    String::new()
                }
            })
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
        if let Some(y) = mark {
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.5, y), (epochs + 0.5, y)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))?
                .label(format!("mAP of the starting weights ({y:.3})"))
                // Black, not the mAP's blue: the legend's sample is solid, so colour tells them apart.
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1))
                });
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
        "loss",
        &losses,
        None,
        SeriesLabelPosition::UpperRight,
    )?;
    panel(
        &right,
        format!("{title}: validation"),
        1.0,
        "",
        &metrics,
        starting_map,
        SeriesLabelPosition::LowerRight,
    )?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curves_of_a_run_are_written_as_a_png() {
        let log: Vec<EpochLog> = (1..=11)
            .map(|epoch| EpochLog {
                epoch,
                step: epoch as u64 * 100,
                lr: 1e-3,
                train_loss: 0.5 - 0.01 * epoch as f64,
                val_loss: 0.3,
                val_map: 0.6,
                val_macro_f1: 0.58,
                val_weighted_f1: 0.72,
                seconds: 60.0 * epoch as f64,
                examples_per_second: 130.0,
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("instrunet-curves-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.curves.png");
        plot_curves(&log, Some(0.62), &path, "test run").unwrap();
        let png = std::fs::read(&path).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        assert!(png.len() > 5_000, "{} bytes: nothing drawn?", png.len());
        // The starting weights' mark is drawn: without it the picture differs.
        let unmarked = dir.join("unmarked.curves.png");
        plot_curves(&log, None, &unmarked, "test run").unwrap();
        assert_ne!(std::fs::read(&unmarked).unwrap(), png);
        if std::env::var_os("INSTRUNET_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
