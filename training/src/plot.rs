//! PNG plots with `plotters`: the text is drawn with DejaVu Sans from Debian's
//! `fonts-dejavu-core` package, loaded once at run time.

use std::sync::OnceLock;

/// Where Debian puts the font, and its package.
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const FONT_PACKAGE: &str = "fonts-dejavu-core";

/// Registers the plots' font under the family name "sans-serif".
pub fn register_font() -> anyhow::Result<()> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            let bytes = std::fs::read(FONT_PATH).map_err(|e| {
                format!("{FONT_PATH}: {e} (install the Debian package {FONT_PACKAGE} for plots)")
            })?;
            // Lives for the rest of the process, as plotters requires.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
                .map_err(|_| format!("{FONT_PATH}: not a usable TrueType font"))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}
