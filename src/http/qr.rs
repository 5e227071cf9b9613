//! QR codes as inline SVG, for the pages that show one (the checkout's UPI code, a payment
//! link to print or share).

/// A QR code of `text` as inline SVG (no XML declaration), at least `size` pixels wide; empty
/// when the text does not fit a QR code.
pub fn qr_svg(text: &str, size: u32) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(size, size)
                .quiet_zone(true)
                .build();
            match svg.find("<svg") {
                Some(at) => svg[at..].to_string(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}
