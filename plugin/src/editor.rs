//! The egui editor: one meter per class (name, value, threshold mark, "present" light), a heat
//! map of the last 30 seconds, a status line, the parameters, and the weights file. It reads the
//! engine's shared atomics only, and draws only while open (closed, it costs nothing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, StrokeKind, Vec2};
use instrunet_model::realtime::{MAX_CLASSES, Shared};
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

pub struct MetersApp {
    params: Arc<InstrunetParams>,
    shared: Arc<Shared>,
    status: Arc<Mutex<ModelStatus>>,
    gui: Option<GuiContext>,
    /// Meter values after release smoothing.
    meters: [f32; MAX_CLASSES],
    present: [bool; MAX_CLASSES],
    last_frame: Option<Instant>,
    weights_edit: String,
    scratch: [f32; MAX_CLASSES],
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
        present: [false; MAX_CLASSES],
        last_frame: None,
        weights_edit,
        scratch: [0.0; MAX_CLASSES],
    };
    let state = EguiEditorState::from_size(LogicalSize::new(760.0, 720.0), 1.0);
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
        let use_model = self.params.model_thresholds.value();
        let global = self.params.threshold.value();
        let hysteresis = self.params.hysteresis.value();
        let release = self.params.release_ms.value() / 1000.0;
        // Rise at once, fall with the release time (to ~5 % in `release` seconds).
        let fall = if release <= 0.0 {
            1.0
        } else {
            1.0 - (-3.0 * dt / release).exp()
        };
        let threshold = |k: usize| {
            if use_model {
                status.thresholds.get(k).copied().unwrap_or(0.5)
            } else {
                global
            }
        };
        for k in 0..n {
            let p = self.shared.probability(k);
            let m = &mut self.meters[k];
            *m = if p >= *m { p } else { *m + (p - *m) * fall };
            let t = threshold(k);
            if !self.present[k] && p >= t {
                self.present[k] = true;
            } else if self.present[k] && p < t - hysteresis {
                self.present[k] = false;
            }
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
        } else if analyses == 0 {
            ui.label(format!(
                "Waiting for audio: the first result comes after {:.1} s of input.",
                2.1
            ));
        }
        ui.separator();

        // Meters.
        let row_h = 22.0;
        let (rect, _) = ui.allocate_exact_size(
            Vec2::new(ui.available_width(), row_h * n as f32),
            Sense::hover(),
        );
        let painter = ui.painter_at(rect);
        let name_w = 170.0;
        let value_w = 60.0;
        let bar_x0 = rect.left() + name_w;
        let bar_x1 = rect.right() - value_w - 24.0;
        for k in 0..n {
            let y = rect.top() + k as f32 * row_h;
            let present = self.present[k];
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
            let tx = bar.left() + threshold(k).clamp(0.0, 1.0) * bar.width();
            painter.line_segment(
                [Pos2::new(tx, y + 1.0), Pos2::new(tx, y + row_h - 1.0)],
                Stroke::new(2.0, Color32::from_rgb(250, 220, 80)),
            );
            painter.text(
                Pos2::new(bar_x1 + 8.0, y + row_h / 2.0),
                Align2::LEFT_CENTER,
                format!("{:>3.0} %", 100.0 * self.shared.probability(k)),
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
        ui.add_space(6.0);
        ui.label("Last 30 s (newest on the right; brighter = more likely):");

        // History heat map.
        let (hrect, _) = ui.allocate_exact_size(
            Vec2::new(ui.available_width(), (10.0 * n as f32).max(40.0)),
            Sense::hover(),
        );
        let hp = ui.painter_at(hrect);
        hp.rect_filled(hrect, 0.0, Color32::from_gray(20));
        let cell_h = hrect.height() / n.max(1) as f32;
        let hop = (self.params.hop_ms.value() / 1000.0) as f64;
        let mut newest = None;
        self.shared
            .history(HISTORY_SECONDS, &mut self.scratch, |t, _| {
                newest = Some(t);
            });
        if let Some(newest) = newest {
            let to_x =
                |t: f64| hrect.right() - ((newest - t) / HISTORY_SECONDS) as f32 * hrect.width();
            let w = ((hop / HISTORY_SECONDS) as f32 * hrect.width()).max(1.0);
            self.shared
                .history(HISTORY_SECONDS, &mut self.scratch, |t, p| {
                    let x = to_x(t);
                    for (k, &v) in p.iter().enumerate().take(n) {
                        let c = (v.clamp(0.0, 1.0) * 255.0) as u8;
                        hp.rect_filled(
                            Rect::from_min_size(
                                Pos2::new(x - w, hrect.top() + k as f32 * cell_h),
                                Vec2::new(w + 0.5, cell_h),
                            ),
                            0.0,
                            Color32::from_rgb(c / 3, c, c / 2),
                        );
                    }
                });
        }
        hp.rect_stroke(
            hrect,
            0.0,
            Stroke::new(1.0, Color32::from_gray(80)),
            StrokeKind::Inside,
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
                ui.label("MIDI CC out");
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
