package card

import (
	"bytes"
	"fmt"

	"codeberg.org/go-pdf/fpdf"
)

// pdfDPI maps card pixels to PDF points: a 1240 px card is 620 pt wide,
// about an A4 page (595 pt), and prints at 144 dpi.
const pdfDPI = 144

// PDF wraps a rendered card (PNG bytes) in a one-page PDF of the card's
// size. The page is the image: fpdf cannot shape Arabic or fall back
// between fonts, so the PDF shows exactly the pixels of the PNG (its text
// is not selectable). The PNG's data is embedded as it is, not re-encoded.
func PDF(pngBytes []byte, c Card) ([]byte, error) {
	cfg, err := pngSize(pngBytes)
	if err != nil {
		return nil, err
	}
	w := float64(cfg.X) * 72 / pdfDPI
	h := float64(cfg.Y) * 72 / pdfDPI
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: w, Ht: h}})
	// Fixed dates and a sorted catalog: the same card gives the same bytes.
	pdf.SetCreationDate(c.Date)
	pdf.SetModificationDate(c.Date)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(c.Title, true)
	pdf.SetCreator("papercast", true)
	pdf.SetProducer("papercast", true)
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	opts := fpdf.ImageOptions{ImageType: "PNG"}
	pdf.RegisterImageOptionsReader("card", opts, bytes.NewReader(pngBytes))
	pdf.ImageOptions("card", 0, 0, w, h, false, opts, 0, "")
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("write card pdf: %w", err)
	}
	return buf.Bytes(), nil
}
