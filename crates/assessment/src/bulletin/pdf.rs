//! A bulletin on A4 pages: first laid out as pages of drawing operations (text at a baseline,
//! filled rectangles, lines), then written by krilla. Keeping the layout apart from the PDF
//! writer keeps the page-breaking and chart arithmetic plain code over numbers.

use std::sync::Arc;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use ecowarden_core::org::Org;

use super::map::{self, COLUMNS, ROWS};
use super::{Bulletin, BulletinFont};
use crate::AssessError;

/// A4 in points.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 72.0;
const RIGHT: f32 = PAGE_W - 72.0;
const TOP: f32 = 72.0;
const BOTTOM: f32 = PAGE_H - 80.0;
const WIDTH: f32 = RIGHT - LEFT;

const BLACK: Rgb = (0, 0, 0);
const RED: Rgb = (204, 0, 0);
const GREY: Rgb = (128, 128, 128);
const RULE: Rgb = (160, 160, 160);
const HEAD_BG: Rgb = (235, 235, 235);

/// Body text size (14 pt, close to the 三号 of official documents while fitting the tables).
const BODY: f32 = 14.0;

type Rgb = (u8, u8, u8);

#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// Text with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        colour: Rgb,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: Rgb,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        colour: Rgb,
    },
}

/// Advance widths of the font, for centring and wrapping.
struct Measure<'a> {
    charmap: skrifa::charmap::Charmap<'a>,
    metrics: skrifa::metrics::GlyphMetrics<'a>,
    upem: f32,
}

impl<'a> Measure<'a> {
    fn new(font: &'a BulletinFont) -> Result<Measure<'a>, AssessError> {
        let f = skrifa::FontRef::from_index(&font.data, font.index)
            .map_err(|e| AssessError::Invalid(format!("通报字体无法解析：{e}")))?;
        Ok(Measure {
            charmap: f.charmap(),
            metrics: f.glyph_metrics(Size::unscaled(), LocationRef::default()),
            upem: f32::from(
                f.metrics(Size::unscaled(), LocationRef::default())
                    .units_per_em,
            ),
        })
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| {
                self.charmap
                    .map(c)
                    .and_then(|g| self.metrics.advance_width(g))
                    .unwrap_or(self.upem)
            })
            .sum::<f32>()
            * size
            / self.upem
    }

    /// Greedy line breaking: CJK text breaks between any two characters, except that
    /// closing punctuation never starts a line (it stays on the line before, a little over).
    fn wrap(&self, text: &str, size: f32, first_width: f32, width: f32) -> Vec<String> {
        const NO_START: &str = "，。、；：？！）》」”’％";
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut room = first_width;
        for c in text.chars() {
            let w = self.width(c.encode_utf8(&mut [0; 4]), size);
            if !line.is_empty() && self.width(&line, size) + w > room && !NO_START.contains(c) {
                lines.push(std::mem::take(&mut line));
                room = width;
            }
            line.push(c);
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// Pages of operations and the cursor's top edge on the last page.
struct Layout<'a> {
    measure: Measure<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout<'_> {
    fn page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` still fits on this one.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.page();
        }
    }

    fn op(&mut self, op: Op) {
        self.pages
            .last_mut()
            .expect("a page is started first")
            .push(op);
    }

    fn text(&mut self, x: f32, baseline: f32, size: f32, text: &str, colour: Rgb) {
        self.op(Op::Text {
            x,
            y: baseline,
            size,
            text: text.to_owned(),
            colour,
        });
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb) {
        self.op(Op::Rect { x, y, w, h, colour });
    }

    fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, colour: Rgb) {
        self.op(Op::Line {
            from,
            to,
            width,
            colour,
        });
    }

    /// Wrapped lines, each centred, advancing the cursor.
    fn centred(&mut self, size: f32, text: &str, colour: Rgb, leading: f32) {
        for l in self.measure.wrap(text, size, WIDTH, WIDTH) {
            self.room(size * leading);
            let x = LEFT + (WIDTH - self.measure.width(&l, size)) / 2.0;
            self.text(x, self.y + size, size, &l, colour);
            self.y += size * leading;
        }
    }

    /// A paragraph whose first line is indented by `indent` characters.
    fn paragraph(&mut self, size: f32, text: &str, indent: f32) {
        let first = WIDTH - indent * size;
        for (i, l) in self
            .measure
            .wrap(text, size, first, WIDTH)
            .into_iter()
            .enumerate()
        {
            self.room(size * 1.7);
            let x = if i == 0 { LEFT + indent * size } else { LEFT };
            self.text(x, self.y + size, size, &l, BLACK);
            self.y += size * 1.7;
        }
    }

    /// A line of text flush right.
    fn right(&mut self, size: f32, text: &str) {
        self.room(size * 1.7);
        let x = RIGHT - self.measure.width(text, size) - size * 2.0;
        self.text(x, self.y + size, size, text, BLACK);
        self.y += size * 1.7;
    }

    /// Text shrunk to fit `width` (never above `size`), centred in a box.
    fn fitted(&mut self, x: f32, w: f32, baseline: f32, size: f32, text: &str, colour: Rgb) {
        let natural = self.measure.width(text, size);
        let size = if natural > w {
            size * w / natural
        } else {
            size
        };
        let x = x + (w - self.measure.width(text, size)) / 2.0;
        self.text(x, baseline, size, text, colour);
    }

    /// An attachment's first page: 附件N at the left, its title centred.
    fn attachment(&mut self, n: usize, title: &str) {
        self.page();
        self.text(LEFT, self.y + BODY, BODY, &format!("附件{n}"), BLACK);
        self.y += BODY * 2.2;
        self.centred(18.0, title, BLACK, 1.6);
        self.y += 8.0;
    }
}

/// Writes a bulletin as a PDF with the font's used glyphs embedded.
pub fn to_pdf(b: &Bulletin, org: &Org, font: &BulletinFont) -> Result<Vec<u8>, AssessError> {
    let pages = layout(b, org, Measure::new(font)?);
    render(b, &pages, font)
}

fn layout(b: &Bulletin, org: &Org, measure: Measure<'_>) -> Vec<Vec<Op>> {
    let mut l = Layout {
        measure,
        pages: Vec::new(),
        y: TOP,
    };
    l.page();
    letterhead(&mut l, b);
    body(&mut l, b);
    table(&mut l, b);
    chart(&mut l, b);
    tile_map(&mut l, b, org);
    l.pages
}

/// The red header, the 文号 and the red rule, then the title.
fn letterhead(l: &mut Layout<'_>, b: &Bulletin) {
    l.y += 20.0;
    l.centred(26.0, &b.header, RED, 1.5);
    l.y += 18.0;
    l.centred(BODY, &b.doc_no, BLACK, 1.4);
    l.y += 4.0;
    l.line((LEFT, l.y), (RIGHT, l.y), 2.0, RED);
    l.y += 28.0;
    l.centred(20.0, &b.title, BLACK, 1.5);
    l.y += 14.0;
}

fn body(l: &mut Layout<'_>, b: &Bulletin) {
    l.paragraph(BODY, &b.addressee, 0.0);
    for p in &b.paragraphs {
        l.paragraph(BODY, &p.text, 2.0);
    }
    l.y += BODY;
    for (i, a) in b.attachments.iter().enumerate() {
        let line = if i == 0 {
            format!("附件：{}. {a}", i + 1)
        } else {
            format!("　　　{}. {a}", i + 1)
        };
        l.paragraph(BODY, &line, 2.0);
    }
    l.y += BODY * 2.0;
    l.room(BODY * 4.0);
    l.right(BODY, &b.issuer);
    l.right(BODY, &b.date);
}

/// Attachment 1: rank, unit, total and each indicator, the head repeated on every page.
fn table(l: &mut Layout<'_>, b: &Bulletin) {
    l.attachment(1, &b.attachments[0]);
    let k = b.ranking.indicators.len();
    let mut columns: Vec<(String, f32)> = vec![
        ("名次".into(), 38.0),
        ("单位".into(), 110.0),
        ("总分".into(), 50.0),
    ];
    let rest = (WIDTH - 198.0) / k.max(1) as f32;
    columns.extend(b.ranking.indicators.iter().map(|i| (i.clone(), rest)));
    let row_h = 17.0;
    let head = |l: &mut Layout<'_>| {
        l.rect(LEFT, l.y, WIDTH, row_h * 1.4, HEAD_BG);
        let mut x = LEFT;
        for (name, w) in &columns {
            l.fitted(x + 2.0, w - 4.0, l.y + row_h * 0.95, 10.0, name, BLACK);
            x += w;
        }
        l.y += row_h * 1.4;
    };
    head(l);
    for r in &b.ranking.rows {
        if l.y + row_h > BOTTOM {
            l.page();
            head(l);
        }
        let mut cells = vec![r.rank.to_string(), r.name.clone(), super::points(r.score)];
        cells.extend(r.indicators.iter().map(|s| super::points(*s)));
        let mut x = LEFT;
        for (text, (_, w)) in cells.iter().zip(&columns) {
            l.fitted(x + 2.0, w - 4.0, l.y + row_h * 0.72, 10.0, text, BLACK);
            x += w;
        }
        l.y += row_h;
        l.line((LEFT, l.y), (RIGHT, l.y), 0.4, RULE);
    }
}

/// Attachment 2: one horizontal bar per unit in rank order, coloured as on the map.
fn chart(l: &mut Layout<'_>, b: &Bulletin) {
    l.attachment(2, &b.attachments[1]);
    let rows = &b.ranking.rows;
    if rows.is_empty() {
        return;
    }
    let (low, high) = map::bounds(&b.ranking);
    // The axis runs in five round steps (of 2, 5, 10, 20, 50… points) past the top score.
    let step = [2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        .into_iter()
        .find(|s| s * 5.0 >= high)
        .unwrap_or(1000.0);
    let axis_max = (step * 5.0) as f32;
    let label_w = 100.0;
    let bar_x = LEFT + label_w;
    let bar_w = WIDTH - label_w - 40.0;
    let band = ((BOTTOM - l.y - 24.0) / rows.len() as f32).min(20.0);
    let font = (band * 0.75).min(10.0);
    let top = l.y;
    for i in 0..=5 {
        let x = bar_x + bar_w * i as f32 / 5.0;
        let v = axis_max * i as f32 / 5.0;
        let bottom = top + band * rows.len() as f32;
        l.line((x, top), (x, bottom), 0.3, RULE);
        let t = format!("{v}");
        let w = l.measure.width(&t, 8.0);
        l.text(x - w / 2.0, bottom + 11.0, 8.0, &t, GREY);
    }
    for r in rows {
        let (cr, cg, cb) = map::colour(Some(r.score), low, high);
        let w = bar_w * (r.score as f32 / axis_max).clamp(0.0, 1.0);
        let label = format!("{}. {}", r.rank, r.name);
        let lw = l.measure.width(&label, font);
        l.text(
            bar_x - lw - 4.0,
            l.y + band * 0.5 + font * 0.35,
            font,
            &label,
            BLACK,
        );
        l.rect(
            bar_x,
            l.y + band * 0.15,
            w.max(0.5),
            band * 0.7,
            (cr, cg, cb),
        );
        let t = super::points(r.score);
        l.text(
            bar_x + w + 3.0,
            l.y + band * 0.5 + font * 0.35,
            font,
            &t,
            BLACK,
        );
        l.y += band;
    }
    l.line((bar_x, top), (bar_x, l.y), 0.8, BLACK);
}

/// Attachment 3: the tile map (see [`map`]) and its legend.
fn tile_map(l: &mut Layout<'_>, b: &Bulletin, org: &Org) {
    l.attachment(3, &b.attachments[2]);
    let (low, high) = map::bounds(&b.ranking);
    let tiles = map::tiles(&b.ranking, org);
    let size = (WIDTH / f32::from(COLUMNS)).min((BOTTOM - l.y - 60.0) / f32::from(ROWS));
    let origin = (LEFT + (WIDTH - size * f32::from(COLUMNS)) / 2.0, l.y);
    let gap = 4.0;
    let band = 15.0;
    for t in &tiles {
        let x = origin.0 + size * f32::from(t.column) + gap / 2.0;
        let y = origin.1 + size * f32::from(t.row) + gap / 2.0;
        let s = size - gap;
        l.rect(x, y, s, s, (250, 250, 250));
        l.fitted(x, s, y + 11.5, 11.0, &t.name, BLACK);
        let n = t.cells.len();
        if n == 0 {
            l.rect(x, y + band, s, s - band, map::colour(None, low, high));
            l.fitted(x, s, y + band + (s - band) / 2.0, 9.0, "未参评", GREY);
            continue;
        }
        for (c, (cx, cy, cw, ch)) in
            t.cells
                .iter()
                .zip(map::cell_boxes(n, x, y + band, s, s - band))
        {
            let fill = map::colour(c.score, low, high);
            l.rect(cx + 0.5, cy + 0.5, cw - 1.0, ch - 1.0, fill);
            let ink = map::ink(fill);
            let name = map::short_name(&c.name);
            l.fitted(cx + 1.0, cw - 2.0, cy + ch / 2.0, 8.0, &name, ink);
            if let Some(score) = c.score {
                let t = super::points(score);
                l.fitted(cx + 1.0, cw - 2.0, cy + ch / 2.0 + 8.0, 7.0, &t, ink);
            }
        }
    }
    l.y = origin.1 + size * f32::from(ROWS) + 16.0;
    // Legend: five steps from the lowest score to the highest, and grey for the rest.
    let sw = 40.0;
    for i in 0..5 {
        let v = low + (high - low) * f64::from(i) / 4.0;
        let x = LEFT + sw * i as f32;
        l.rect(x, l.y, sw, 10.0, map::colour(Some(v), low, high));
        l.text(x, l.y + 21.0, 8.0, &super::points(v), GREY);
    }
    let x = LEFT + sw * 5.0 + 16.0;
    l.rect(x, l.y, sw, 10.0, map::colour(None, low, high));
    l.text(x, l.y + 21.0, 8.0, "未参评", GREY);
    l.y += 34.0;
    l.paragraph(
        9.0,
        "说明：示意图按行政区划单元等面积排布（每个设区市级单元一格，县级单元再分小格），\
         不反映实际地理边界和面积。",
        0.0,
    );
}

fn render(b: &Bulletin, pages: &[Vec<Op>], font: &BulletinFont) -> Result<Vec<u8>, AssessError> {
    let data: Arc<Vec<u8>> = font.data.clone();
    let font = Font::new(data.into(), font.index)
        .ok_or_else(|| AssessError::Invalid("通报字体无法载入".into()))?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(b.title.clone())
            .language("zh-CN".into())
            .creator("ecowarden".into()),
    );
    let total = pages.len();
    let fill = |(r, g, b): Rgb| {
        Some(Fill {
            paint: rgb::Color::new(r, g, b).into(),
            ..Default::default()
        })
    };
    for (n, ops) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid size");
        let mut page = doc.start_page_with(settings);
        let mut s = page.surface();
        let draw_text = |s: &mut krilla::surface::Surface<'_>, x, y, size, text: &str, c| {
            s.set_stroke(None);
            s.set_fill(fill(c));
            s.draw_text(
                Point::from_xy(x, y),
                font.clone(),
                size,
                text,
                false,
                TextDirection::Auto,
            );
        };
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    text,
                    colour,
                } => draw_text(&mut s, *x, *y, *size, text, *colour),
                Op::Rect { x, y, w, h, colour } => {
                    let mut pb = PathBuilder::new();
                    if let Some(r) = Rect::from_xywh(*x, *y, *w, *h) {
                        pb.push_rect(r);
                    }
                    if let Some(path) = pb.finish() {
                        s.set_stroke(None);
                        s.set_fill(fill(*colour));
                        s.draw_path(&path);
                    }
                }
                Op::Line {
                    from,
                    to,
                    width,
                    colour,
                } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(from.0, from.1);
                    pb.line_to(to.0, to.1);
                    if let Some(path) = pb.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
                            width: *width,
                            ..Default::default()
                        }));
                        s.draw_path(&path);
                    }
                }
            }
        }
        let folio = format!("— {} / {total} —", n + 1);
        let measure = 9.0 * 0.55 * folio.chars().count() as f32;
        draw_text(
            &mut s,
            (PAGE_W - measure) / 2.0,
            PAGE_H - 40.0,
            9.0,
            &folio,
            GREY,
        );
        s.finish();
        page.finish();
    }
    doc.finish()
        .map_err(|e| AssessError::Invalid(format!("生成 PDF 通报失败：{e:?}")))
}
