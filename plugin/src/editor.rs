//! The egui editor: one meter per class (name, value, threshold mark, "present" light), a heat
//! map of the last 30 seconds with labelled rows and second marks, a status line, the
//! parameters, and the weights file. It reads the engine's shared state only (the lights are the
//! engine's published gate decision, the one the MIDI notes follow), and draws only while open
//! (closed, it costs nothing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2};
use instrunet_model::realtime::{Analysis, MAX_CLASSES, Shared};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp, RepaintNotifier,
    create_egui_editor,
};
use parking_lot::Mutex;

use crate::ModelStatus;
use crate::params::InstrunetParams;

/// Seconds of history in the heat map.
const HISTORY_SECONDS: f64 = 30.0;
/// Width of the class-name column of the meters and the heat map.
const NAME_WIDTH: f32 = 170.0;

pub struct MetersApp {
    params: Arc<InstrunetParams>,
    shared: Arc<Shared>,
    status: Arc<Mutex<ModelStatus>>,
    gui: Option<GuiContext>,
    /// Meter values after release smoothing.
    meters: [f32; MAX_CLASSES],
    /// The engine's latest analysis, read once per frame.
    latest: Analysis,
    last_frame: Option<Instant>,
    weights_edit: String,
}

pub fn create(
    params: Arc<InstrunetParams>,
    shared: Arc<Shared>,
    status: Arc<Mutex<ModelStatus>>,
) -> Option<EguiEditor<MetersApp>> {
    let weights_edit = params.weights_path.lock().clone();
    let app = MetersApp {
        params,
        shared,
        status,
        gui: None,
        meters: [0.0; MAX_CLASSES],
        latest: Analysis::default(),
        last_frame: None,
        weights_edit,
    };
    let state = EguiEditorState::from_size(LogicalSize::new(760.0, 820.0), 1.0);
    let settings = EguiNiceSettings::new()
        .with_tile("InstruNET")
        .with_resize_hint(
            ResizeHint::resizable().with_min_logical_size(LogicalSize::new(520.0, 480.0)),
        );
    create_egui_editor(state, RepaintNotifier::new(), settings, app)
}

/// A checkbox for a boolean parameter, as one host gesture per click.
fn toggle(ui: &mut egui::Ui, setter: &ParamSetter, param: &BoolParam, label: &str) {
    let mut on = param.value();
    if ui.checkbox(&mut on, label).changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, on);
        setter.end_set_parameter(param);
    }
}

fn meter_colour(p: f32, present: bool) -> Color32 {
    if present {
        Color32::from_rgb(70, 200, 110)
    } else {
        Color32::from_rgb(60 + (p * 60.0) as u8, 110 + (p * 60.0) as u8, 170)
    }
}

impl MetersApp {
    /// The heat map of the last 30 s: one row per class, labelled, in the meters' order and with
    /// their name column, so that a row sits under its meter's name; a mark every second and
    /// the seconds before now every five.
    fn history(&mut self, ui: &mut egui::Ui, classes: &[String], left: f32, right: f32) {
        let n = classes.len();
        let row_h = 13.0;
        let axis_h = 16.0;
        let (area, _) = ui.allocate_exact_size(
            Vec2::new(ui.available_width(), row_h * n.max(1) as f32 + axis_h),
            Sense::hover(),
        );
        let painter = ui.painter_at(area);
        let map = Rect::from_min_max(
            Pos2::new(area.left() + left, area.top()),
            Pos2::new(area.right() - right, area.bottom() - axis_h),
        );
        painter.rect_filled(map, 0.0, Color32::from_gray(20));
        for (k, name) in classes.iter().enumerate() {
            painter.text(
                Pos2::new(area.left() + 4.0, map.top() + (k as f32 + 0.5) * row_h),
                Align2::LEFT_CENTER,
                name,
                FontId::proportional(11.0),
                Color32::from_gray(150),
            );
        }
        let hop = self.shared.hop_seconds().max(0.01) as f64;
        let to_x = |age: f64| map.right() - (age / HISTORY_SECONDS) as f32 * map.width();
        let cell_w = ((hop / HISTORY_SECONDS) as f32 * map.width()).max(1.0);
        let newest = self.latest.time;
        let mut scratch = Analysis::default();
        self.shared.history(HISTORY_SECONDS, &mut scratch, |a| {
            let x = to_x(newest - a.time);
            for k in 0..n {
                let v = a.probabilities[k].clamp(0.0, 1.0);
                let c = (v * 255.0) as u8;
                let cell = Rect::from_min_size(
                    Pos2::new(x - cell_w, map.top() + k as f32 * row_h),
                    Vec2::new(cell_w + 0.5, row_h),
                );
                painter.rect_filled(cell, 0.0, Color32::from_rgb(c / 3, c, c / 2));
                if a.is_present(k) {
                    painter.line_segment(
                        [cell.left_top(), cell.right_top()],
                        Stroke::new(1.5, Color32::from_rgb(120, 255, 160)),
                    );
                }
            }
        });
        // Second marks below the map, labelled every five seconds.
        for s in 0..=HISTORY_SECONDS as i32 {
            let x = to_x(s as f64);
            let long = s % 5 == 0;
            painter.line_segment(
                [
                    Pos2::new(x, map.bottom()),
                    Pos2::new(x, map.bottom() + if long { 5.0 } else { 3.0 }),
                ],
                Stroke::new(1.0, Color32::from_gray(if long { 170 } else { 100 })),
            );
            if long {
                painter.text(
                    Pos2::new(x, map.bottom() + 5.0),
                    if s == 0 {
                        Align2::RIGHT_TOP
                    } else {
                        Align2::CENTER_TOP
                    },
                    if s == 0 {
                        "now".to_owned()
                    } else {
                        format!("−{s} s")
                    },
                    FontId::proportional(10.0),
                    Color32::from_gray(170),
                );
            }
        }
        painter.rect_stroke(
            map,
            0.0,
            Stroke::new(1.0, Color32::from_gray(80)),
            StrokeKind::Inside,
        );
    }
}

impl NiceEguiApp for MetersApp {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(nice_gui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        // Meters move between analyses: draw at ~30 frames per second while open.
        ui.ctx().request_repaint_after(Duration::from_millis(33));
        let now = Instant::now();
        let dt = self
            .last_frame
            .map_or(0.0, |t| now.duration_since(t).as_secs_f32());
        self.last_frame = Some(now);
        let status = self.status.lock().clone();
        let n = self.shared.n_classes().min(status.classes.len());
        // The engine's latest analysis: probabilities and the gate's "present" decision, the
        // same one the MIDI notes follow.
        self.shared.latest(&mut self.latest);
        let release = self.params.release_ms.value() / 1000.0;
        // Rise at once, fall with the release time (to ~5 % in `release` seconds).
        let fall = if release <= 0.0 {
            1.0
        } else {
            1.0 - (-3.0 * dt / release).exp()
        };
        for k in 0..n {
            let p = self.latest.probabilities[k];
            let m = &mut self.meters[k];
            *m = if p >= *m { p } else { *m + (p - *m) * fall };
        }

        ui.horizontal(|ui| {
            ui.heading("InstruNET");
            ui.label(format!("— which instruments are playing ({} classes)", n));
        });
        // Status line.
        let analyses = self.shared.analyses();
        ui.label(format!(
            "Model: {} · {} classes · CPU · {:.1} ms per window · {} analyses · dropped blocks: {}",
            status.source,
            status.classes.len(),
            self.shared.inference_us() / 1000.0,
            analyses,
            self.shared.dropped_blocks()
        ));
        if let Some(problem) = &status.problem {
            ui.colored_label(
                Color32::from_rgb(240, 170, 60),
                format!("Using the embedded model because {problem}"),
            );
        }
        if self.params.bypass.value() {
            ui.colored_label(
                Color32::from_rgb(240, 110, 60),
                "Bypassed: the audio passes through, nothing is analysed, no MIDI goes out.",
            );
        } else if let Some(why) = &status.analysis_off {
            ui.colored_label(
                Color32::from_rgb(240, 110, 60),
                format!("Analysis is off: {why}. The audio passes through untouched."),
            );
        } else if self.latest == Analysis::default() {
            ui.label(format!(
                "Waiting for audio: the first result comes after {:.1} s of input.",
                self.shared.window_seconds()
            ));
        }
        ui.separator();

        // Meters: name, bar with the threshold mark, value, "present" light.
        let row_h = 22.0;
        let (rect, _) = ui.allocate_exact_size(
            Vec2::new(ui.available_width(), row_h * n as f32),
            Sense::hover(),
        );
        let painter = ui.painter_at(rect);
        let bar_x0 = rect.left() + NAME_WIDTH;
        let bar_x1 = rect.right() - 84.0;
        for k in 0..n {
            let y = rect.top() + k as f32 * row_h;
            let present = self.latest.is_present(k);
            painter.text(
                Pos2::new(rect.left() + 4.0, y + row_h / 2.0),
                Align2::LEFT_CENTER,
                &status.classes[k],
                FontId::proportional(15.0),
                if present {
                    Color32::WHITE
                } else {
                    Color32::from_gray(170)
                },
            );
            let bar = Rect::from_min_max(
                Pos2::new(bar_x0, y + 4.0),
                Pos2::new(bar_x1, y + row_h - 4.0),
            );
            painter.rect_filled(bar, 3.0, Color32::from_gray(40));
            let v = self.meters[k].clamp(0.0, 1.0);
            let filled = Rect::from_min_max(
                bar.min,
                Pos2::new(bar.left() + v * bar.width(), bar.bottom()),
            );
            painter.rect_filled(filled, 3.0, meter_colour(v, present));
            let tx = bar.left() + self.shared.threshold(k).clamp(0.0, 1.0) * bar.width();
            painter.line_segment(
                [Pos2::new(tx, y + 1.0), Pos2::new(tx, y + row_h - 1.0)],
                Stroke::new(2.0, Color32::from_rgb(250, 220, 80)),
            );
            painter.text(
                Pos2::new(bar_x1 + 8.0, y + row_h / 2.0),
                Align2::LEFT_CENTER,
                format!("{:>3.0} %", 100.0 * self.latest.probabilities[k]),
                FontId::monospace(13.0),
                Color32::from_gray(200),
            );
            // The "present" light.
            painter.circle_filled(
                Pos2::new(rect.right() - 10.0, y + row_h / 2.0),
                6.0,
                if present {
                    Color32::from_rgb(70, 230, 110)
                } else {
                    Color32::from_gray(55)
                },
            );
        }
        ui.add_space(8.0);
        ui.label(
            "Last 30 s (newest on the right; brighter = more likely; a bright rim = present):",
        );
        self.history(
            ui,
            &status.classes[..n],
            bar_x0 - rect.left(),
            rect.right() - bar_x1,
        );
        ui.separator();

        // Parameters and the weights file.
        if let Some(gui) = &self.gui {
            let setter = gui.param_setter();
            egui::Grid::new("params").num_columns(4).show(ui, |ui| {
                let p = &self.params;
                ui.label("Model thresholds");
                toggle(ui, &setter, &p.model_thresholds, "per class");
                ui.label("Threshold");
                ui.add(ParamSlider::for_param(&p.threshold, &setter));
                ui.end_row();
                ui.label("Meter release");
                ui.add(ParamSlider::for_param(&p.release_ms, &setter));
                ui.label("Analysis hop");
                ui.add(ParamSlider::for_param(&p.hop_ms, &setter));
                ui.end_row();
                ui.label("Input");
                ui.add(ParamSlider::for_param(&p.input, &setter));
                ui.label("Hysteresis");
                ui.add(ParamSlider::for_param(&p.hysteresis, &setter));
                ui.end_row();
                ui.label("MIDI out");
                toggle(ui, &setter, &p.midi_out, "one note per class");
                ui.label("MIDI channel");
                ui.add(ParamSlider::for_param(&p.midi_channel, &setter));
                ui.end_row();
                ui.label("CC out");
                toggle(ui, &setter, &p.midi_cc, "probability per class");
                ui.label("CC smoothing");
                ui.add(ParamSlider::for_param(&p.cc_smoothing_ms, &setter));
                ui.end_row();
            });
            ui.horizontal(|ui| {
                ui.label("Weights file:");
                ui.add(
                    egui::TextEdit::singleline(&mut self.weights_edit)
                        .hint_text("empty: the embedded model")
                        .desired_width(ui.available_width() - 90.0),
                );
                if ui.button("Load").clicked() {
                    *self.params.weights_path.lock() = self.weights_edit.trim().to_owned();
                    // The host deactivates and activates the plugin, which loads the file.
                    gui.request_restart();
                }
            });
        }
    }
}
