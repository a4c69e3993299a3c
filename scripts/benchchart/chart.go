package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Layout, in SVG user units (pixels at 100%).
const (
	width, height = 860, 640
	plotL, plotR  = 84, 620   // both panels share the x axis
	latT, latB    = 78, 330   // latency panel, log scale
	cpuT, cpuB    = 372, 560  // CPU panel, linear
	legendX       = 648       // legend column
	markR         = 4.5       // marker "radius"
	pad           = 10        // between a panel's frame and its extreme values
	capacityMS    = 100.0     // the capacity definition: p99 at most 100 ms
	colorP50      = "#1f77b4" // blue, hollow marks
	colorP99      = "#d62728" // red, filled marks
	colorCPU      = "#2ca02c" // green
	colorGrid     = "#e3e3e3"
	colorText     = "#222"
	colorMuted    = "#666"
)

// shapes tell the scenarios apart; colours tell the figures apart.
var shapes = []string{"circle", "square", "triangle", "diamond", "cross", "down"}

// Chart draws the runs as an SVG document.
func Chart(title string, runs []Run) string {
	gs := groups(runs)
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...); b.WriteByte('\n') }

	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12" fill="%s">`,
		width, height, width, height, colorText)
	p(`<rect width="100%%" height="100%%" fill="#fff"/>`)
	p(`<text x="20" y="30" font-size="17" font-weight="bold">%s</text>`, html.EscapeString(title))
	p(`<text x="20" y="50" fill="%s">Each mark is one run. Latency: send to receive at every other session of the paper. CPU: replicas + Redis per delivery.</text>`, colorMuted)

	// The x axis: deliveries/s from 0, shared by both panels.
	maxX := 0.0
	for _, r := range runs {
		maxX = max(maxX, r.DeliveriesPerSec)
	}
	stepX := NiceStep(maxX, 8)
	hiX := math.Ceil(maxX/stepX) * stepX
	if hiX <= 0 {
		hiX = stepX
	}
	x := func(v float64) float64 { return plotL + pad + v/hiX*(plotR-plotL-2*pad) }

	// The latency panel: log scale over whole decades.
	lo, hi := math.Inf(1), 0.0
	for _, r := range runs {
		for _, v := range []float64{r.P50MS, r.P99MS} {
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	from, to := Decades(lo, hi)
	yLat := func(ms float64) float64 {
		return latB - pad - (math.Log10(ms)-float64(from))/float64(to-from)*(latB-latT-2*pad)
	}

	// The CPU panel: linear from 0.
	maxCPU := 0.0
	for _, r := range runs {
		if !math.IsNaN(r.CPUUsPerDelivery) {
			maxCPU = max(maxCPU, r.CPUUsPerDelivery)
		}
	}
	stepCPU := NiceStep(maxCPU, 5)
	hiCPU := math.Ceil(maxCPU/stepCPU) * stepCPU
	if hiCPU <= 0 {
		hiCPU = stepCPU
	}
	yCPU := func(us float64) float64 { return cpuB - pad - us/hiCPU*(cpuB-cpuT-2*pad) }

	// Grids and axes.
	for v := 0.0; v <= hiX+stepX/2; v += stepX {
		gx := x(v)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`, gx, latT, gx, latB, colorGrid)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`, gx, cpuT, gx, cpuB, colorGrid)
		p(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, gx, cpuB+18, FormatCount(v))
	}
	p(`<text x="%d" y="%d" text-anchor="middle" font-weight="bold">deliveries/s</text>`, (plotL+plotR)/2, cpuB+40)
	for d := from; d <= to; d++ {
		v := math.Pow(10, float64(d))
		gy := yLat(v)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#cfcfcf"/>`, plotL, gy, plotR, gy)
		p(`<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, plotL-6, gy, FormatMS(v))
		if d < to {
			for _, m := range []float64{2, 5} {
				my := yLat(m * v)
				p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="2 3"/>`, plotL, my, plotR, my, colorGrid)
			}
		}
	}
	for v := 0.0; v <= hiCPU+stepCPU/2; v += stepCPU {
		gy := yCPU(v)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, plotL, gy, plotR, gy, colorGrid)
		p(`<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, plotL-6, gy, FormatCount(v))
	}
	for _, box := range [][2]int{{latT, latB}, {cpuT, cpuB}} {
		p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`, plotL, box[0], plotR-plotL, box[1]-box[0])
	}
	p(`<text transform="translate(22 %d) rotate(-90)" text-anchor="middle" font-weight="bold">latency (log scale)</text>`, (latT+latB)/2)
	p(`<text transform="translate(22 %d) rotate(-90)" text-anchor="middle" font-weight="bold">CPU µs per delivery</text>`, (cpuT+cpuB)/2)
	if c := yLat(capacityMS); c >= latT && c <= latB {
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#555" stroke-dasharray="6 4"/>`, plotL, c, plotR, c)
		ly := c - 5
		if ly < latT+14 {
			ly = c + 14 // no room above the line
		}
		p(`<text x="%d" y="%.1f" fill="#555" font-size="11">p99 ≤ 100 ms: the capacity limit</text>`, plotL+6, ly)
	}

	// Series: lines for the groups that differ only in load, then marks.
	for _, g := range gs {
		if !g.Joined {
			continue
		}
		line := func(color string, xy func(Run) (float64, float64, bool)) {
			var pts []string
			for _, r := range g.Runs {
				if px, py, ok := xy(r); ok {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
				}
			}
			if len(pts) > 1 {
				p(`<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"/>`, strings.Join(pts, " "), color)
			}
		}
		line(colorP50, func(r Run) (float64, float64, bool) { return x(r.DeliveriesPerSec), yLat(r.P50MS), r.P50MS > 0 })
		line(colorP99, func(r Run) (float64, float64, bool) { return x(r.DeliveriesPerSec), yLat(r.P99MS), r.P99MS > 0 })
		line(colorCPU, func(r Run) (float64, float64, bool) {
			return x(r.DeliveriesPerSec), yCPU(r.CPUUsPerDelivery), !math.IsNaN(r.CPUUsPerDelivery)
		})
	}
	for gi, g := range gs {
		shape := shapes[gi%len(shapes)]
		for _, r := range g.Runs {
			cpu := "not measured"
			if !math.IsNaN(r.CPUUsPerDelivery) {
				cpu = fmt.Sprintf("%.1f µs", r.CPUUsPerDelivery)
			}
			p(`<g><title>%s: %.0f deliveries/s, p50 %s, p99 %s, CPU per delivery %s</title>`,
				html.EscapeString(r.Name), r.DeliveriesPerSec, FormatMS(r.P50MS), FormatMS(r.P99MS), cpu)
			px := x(r.DeliveriesPerSec)
			if r.P50MS > 0 {
				p(`%s`, mark(shape, px, yLat(r.P50MS), "#fff", colorP50))
			}
			if r.P99MS > 0 {
				p(`%s`, mark(shape, px, yLat(r.P99MS), colorP99, colorP99))
			}
			if !math.IsNaN(r.CPUUsPerDelivery) {
				p(`%s`, mark(shape, px, yCPU(r.CPUUsPerDelivery), colorCPU, colorCPU))
			}
			p(`</g>`)
		}
	}

	// Legend: colours (figures), then shapes (scenarios).
	ly := latT + 6
	p(`<text x="%d" y="%d" font-weight="bold">figure</text>`, legendX, ly)
	for _, e := range []struct{ label, fill, stroke string }{
		{"latency p50", "#fff", colorP50},
		{"latency p99", colorP99, colorP99},
		{"CPU per delivery", colorCPU, colorCPU},
	} {
		ly += 22
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.8"/>`, legendX, ly, legendX+24, ly, e.stroke)
		p(`%s`, mark("circle", legendX+12, float64(ly), e.fill, e.stroke))
		p(`<text x="%d" y="%d" dominant-baseline="middle">%s</text>`, legendX+32, ly, e.label)
	}
	ly += 36
	p(`<text x="%d" y="%d" font-weight="bold">scenario</text>`, legendX, ly)
	for gi, g := range gs {
		ly += 22
		if g.Joined {
			p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.8"/>`, legendX, ly, legendX+24, ly, colorMuted)
		}
		p(`%s`, mark(shapes[gi%len(shapes)], legendX+12, float64(ly), colorMuted, colorMuted))
		label := fmt.Sprintf("%s (%d run%s)", g.Name, len(g.Runs), plural(len(g.Runs)))
		p(`<text x="%d" y="%d" dominant-baseline="middle">%s</text>`, legendX+32, ly, html.EscapeString(label))
	}
	ly += 30
	p(`<text x="%d" y="%d" fill="%s" font-size="11">A line joins runs that differ</text>`, legendX, ly, colorMuted)
	p(`<text x="%d" y="%d" fill="%s" font-size="11">only in load. Hover a mark</text>`, legendX, ly+15, colorMuted)
	p(`<text x="%d" y="%d" fill="%s" font-size="11">for its run and figures.</text>`, legendX, ly+30, colorMuted)
	p(`</svg>`)
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// mark draws one marker of the given shape centred on (x, y).
func mark(shape string, x, y float64, fill, stroke string) string {
	r := markR
	style := fmt.Sprintf(`fill="%s" stroke="%s" stroke-width="1.5"`, fill, stroke)
	switch shape {
	case "square":
		return fmt.Sprintf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" %s/>`, x-r*0.9, y-r*0.9, 1.8*r, 1.8*r, style)
	case "triangle":
		return fmt.Sprintf(`<path d="M%.1f %.1fL%.1f %.1fL%.1f %.1fZ" %s/>`, x, y-r*1.15, x+r*1.1, y+r*0.8, x-r*1.1, y+r*0.8, style)
	case "down":
		return fmt.Sprintf(`<path d="M%.1f %.1fL%.1f %.1fL%.1f %.1fZ" %s/>`, x, y+r*1.15, x+r*1.1, y-r*0.8, x-r*1.1, y-r*0.8, style)
	case "diamond":
		return fmt.Sprintf(`<path d="M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ" %s/>`, x, y-r*1.25, x+r*1.25, y, x, y+r*1.25, x-r*1.25, y, style)
	case "cross":
		return fmt.Sprintf(`<path d="M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f" fill="none" stroke="%s" stroke-width="2.2"/>`,
			x-r, y-r, x+r, y+r, x-r, y+r, x+r, y-r, stroke)
	}
	return fmt.Sprintf(`<circle cx="%.1f" cy="%.1f" r="%.1f" %s/>`, x, y, r, style)
}
