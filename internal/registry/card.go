package registry

import (
	"bufio"
	"bytes"
	"strings"
)

// cardFacts reads one version's row from the model card's table of versions
// (a Markdown table whose first column is "version"): the held-out accuracy
// and the data the version was trained on, where the card has them.
func cardFacts(card []byte, version string) (accuracy, dataset string) {
	var header []string
	sc := bufio.NewScanner(bytes.NewReader(card))
	for sc.Scan() {
		cells := tableCells(sc.Text())
		if cells == nil {
			header = nil
			continue
		}
		if header == nil {
			if strings.EqualFold(cells[0], "version") {
				header = cells
			}
			continue
		}
		if cells[0] != version {
			continue
		}
		for i, h := range header {
			if i >= len(cells) || cells[i] == "" || strings.EqualFold(cells[i], "n/a") {
				continue
			}
			h = strings.ToLower(h)
			switch {
			case accuracy == "" && strings.Contains(h, "accuracy") && !strings.Contains(h, "training"):
				accuracy = cells[i]
			case dataset == "" && (h == "data" || h == "data set" || h == "dataset" || h == "training"):
				dataset = cells[i]
			}
		}
		return accuracy, dataset
	}
	return "", ""
}

// tableCells splits a Markdown table row into trimmed cells; nil for a line
// that is no table row.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil
	}
	cells := strings.Split(line[1:len(line)-1], "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}
