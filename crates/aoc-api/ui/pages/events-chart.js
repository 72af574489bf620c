// The events page's chart: events and failures per interval (uPlot), in the theme's colours and
// the page's time zone; dragging across it selects a period.

function chartColors() {
  const style = getComputedStyle(document.body);
  return {
    count: style.getPropertyValue("--chart-count").trim() || "#2f6fdf",
    fail: style.getPropertyValue("--chart-fail").trim() || "#d64545",
    axis: style.getPropertyValue("--text-muted").trim() || "#666",
    grid: style.getPropertyValue("--border").trim() || "#ddd",
  };
}

/** Tick steps of the counts axis: whole numbers only. */
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];

function countText(u, v) { return v == null ? "" : Math.round(v).toLocaleString(); }

function bucketText(ts, utc) {
  const d = new Date(ts * 1000);
  return utc ? d.toISOString().slice(0, 16).replace("T", " ") + " UTC" : d.toLocaleString();
}

/**
 * Draws `timeline` (the aggregations' buckets) into `el`, replacing what was there; returns the
 * chart (null when there is nothing to draw). `onSelect(fromIso, toIso)` gets a dragged period.
 */
export function drawChart(el, timeline, utc, onSelect) {
  el.textContent = "";
  if (!timeline || timeline.length === 0) return null;
  const xs = timeline.map((b) => new Date(b.start).getTime() / 1000);
  const counts = timeline.map((b) => b.count);
  const failures = timeline.map((b) => b.failures);
  const c = chartColors();
  const bars = window.uPlot.paths.bars({ size: [0.8, 40] });
  const axis = { stroke: c.axis, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid } };
  const opts = {
    width: Math.max(280, el.clientWidth || 800),
    height: 150,
    tzDate: utc ? (ts) => window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC") : undefined,
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    series: [
      // The legend names the hovered bucket, and nothing (not "--") when none is.
      { label: "Time", value: (u, ts) => (ts == null ? "" : bucketText(ts, utc)) },
      { label: "Events", stroke: c.count, fill: c.count + "55", paths: bars, points: { show: false }, value: countText },
      { label: "Failures", stroke: c.fail, fill: c.fail + "88", paths: bars, points: { show: false }, value: countText },
    ],
    // Counts are whole: no tick between 0 and 1.
    axes: [axis, { ...axis, size: 50, incrs: WHOLE_STEPS, values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? v.toLocaleString() : "")) }],
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 5) return;
        const from = u.posToVal(u.select.left, "x");
        const to = u.posToVal(u.select.left + u.select.width, "x");
        onSelect(new Date(from * 1000).toISOString(), new Date(to * 1000).toISOString());
      }],
    },
  };
  return new window.uPlot(opts, [xs, counts, failures], el);
}

export function resizeChart(chart, el) {
  if (chart && el) chart.setSize({ width: Math.max(280, el.clientWidth), height: 150 });
}
