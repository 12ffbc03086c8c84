package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/model/imageproc"
)

func init() {
	register(func() *cli.Command {
		return &cli.Command{
			Name:  "dataset",
			Usage: "validate, summarize, convert and synthesize datasets in the seed's JSON schema or HF parquet",
			Description: "JSON files use the seed's schema (MRI_CT_XRAY_300each_dataset.json): image, problem, solution,\n" +
				"question, options, answer, dataset, subset. Image paths are joined to --images verbatim\n" +
				"(never URL-decoded); without --images they are relative to the dataset file's folder.\n" +
				"Files ending in .parquet are read as Hugging Face parquet exports; the --col-* flags map columns.",
			Flags: []cli.Flag{modalityMapFlag()},
			Subcommands: []*cli.Command{
				datasetValidateCmd(), datasetStatsCmd(), datasetConvertCmd(), datasetSynthCmd(), datasetModalitiesCmd(),
				hubDownloadCommand(hub.Dataset),
			},
		}
	})
}

// Flags shared by the dataset subcommands.
func modalityMapFlag() cli.Flag {
	return &cli.StringFlag{Name: "modality-map", Usage: "JSON `FILE` {\"subset string\": \"Modality\"} adding to or overriding the built-in OmniMedVQA subset map"}
}

func imagesFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "images", Usage: usage}
}

func columnFlags() []cli.Flag {
	d := datasets.DefaultColumns()
	return []cli.Flag{
		&cli.StringFlag{Name: "col-image", Value: d.Image, Usage: "parquet column with the image (bytes, path, {bytes, path} struct or a list of those)"},
		&cli.StringFlag{Name: "col-question", Value: d.Question, Usage: "parquet column with the question"},
		&cli.StringFlag{Name: "col-options", Value: d.Options, Usage: "parquet column with the list of options, or several comma-separated columns (e.g. option_A,option_B,option_C,option_D)"},
		&cli.StringFlag{Name: "col-answer", Value: d.Answer, Usage: "parquet column with the correct option's text"},
		&cli.StringFlag{Name: "col-problem", Value: d.Problem, Usage: "parquet column with the problem text (built from question and options when absent)"},
		&cli.StringFlag{Name: "col-solution", Value: d.Solution, Usage: "parquet column with the solution letter (built from options and answer when absent)"},
		&cli.StringFlag{Name: "col-subset", Value: d.Subset, Usage: "parquet column with the subset (modality) string"},
		&cli.StringFlag{Name: "col-dataset", Value: d.Dataset, Usage: "parquet column with the source dataset name (optional)"},
	}
}

func columnsFrom(c *cli.Context) datasets.ColumnMap {
	return datasets.ColumnMap{
		Image: c.String("col-image"), Question: c.String("col-question"), Options: c.String("col-options"),
		Answer: c.String("col-answer"), Problem: c.String("col-problem"), Solution: c.String("col-solution"),
		Subset: c.String("col-subset"), Dataset: c.String("col-dataset"),
	}
}

// modalityMapFrom loads --modality-map, given after the subcommand or
// before it ("medbench dataset --modality-map F stats ...").
func modalityMapFrom(c *cli.Context) (datasets.ModalityMap, error) {
	for _, x := range c.Lineage() {
		if x == nil {
			continue
		}
		if p := x.String("modality-map"); p != "" {
			return datasets.LoadModalityMap(p)
		}
	}
	return datasets.DefaultModalityMap(), nil
}

func isParquet(path string) bool { return datasets.IsParquetPath(path) }

// loadDataset reads a JSON or parquet dataset with the command's flags.
func loadDataset(c *cli.Context, path string) ([]datasets.Item, error) {
	mm, err := modalityMapFrom(c)
	if err != nil {
		return nil, err
	}
	return datasets.Load(path, datasets.LoadOptions{ImagesRoot: c.String("images"), Columns: columnsFrom(c), Modalities: mm})
}

// datasetArgs returns the positional arguments, applying any flags that
// follow them: urfave/cli stops parsing flags at the first argument, but the
// documented usage is "validate FILE --images DIR". "--" ends flag parsing.
func positionalArgs(c *cli.Context) ([]string, error) {
	raw := c.Args().Slice()
	var pos []string
	for i := 0; i < len(raw); i++ {
		tok := raw[i]
		if tok == "--" {
			pos = append(pos, raw[i+1:]...)
			break
		}
		if len(tok) < 2 || tok[0] != '-' {
			pos = append(pos, tok)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		f := lookupFlag(c.Command.Flags, name)
		if f == nil {
			return nil, usageErr("%s: flag provided but not defined: %s", commandPath(c), tok)
		}
		if _, isBool := f.(*cli.BoolFlag); isBool && !hasValue {
			value, hasValue = "true", true
		}
		if !hasValue {
			if i+1 >= len(raw) {
				return nil, usageErr("%s: flag needs an argument: %s", commandPath(c), tok)
			}
			i++
			value = raw[i]
		}
		if err := c.Set(f.Names()[0], value); err != nil {
			return nil, usageErr("%s: invalid value %q for flag %s: %v", commandPath(c), value, tok, err)
		}
	}
	return pos, nil
}

// commandPath names the running command as a user typed it ("dataset validate").
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func oneArg(c *cli.Context, what string) (string, error) {
	args, err := positionalArgs(c)
	if err != nil {
		return "", err
	}
	if len(args) != 1 {
		return "", usageErr("%s: want one %s argument, got %d", commandPath(c), what, len(args))
	}
	return args[0], nil
}

func datasetValidateCmd() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "report every problem in a dataset with its record index; exit 1 if there is any",
		ArgsUsage: "FILE",
		Description: "Checks: JSON syntax (truncation is reported with the byte offset and the record being read),\n" +
			"invalid UTF-8, missing/unknown/mistyped fields, empty or repeated options, an answer that is not an\n" +
			"option, a solution letter that disagrees with options and answer, a problem text that is not\n" +
			"question + lettered options, unknown subsets, missing or undecodable images (png, jpeg, gif, bmp,\n" +
			"tiff, webp) and images used by two records. Every image is decoded, in parallel, with the decoder\n" +
			"and decompression-bomb limit eval uses, so truncated files and oversized headers are caught here\n" +
			"(--header-only reads headers only). Exit 0: clean; 1: problems; 2: unreadable.",
		Flags: append([]cli.Flag{
			imagesFlag("images root `DIR` (default: the dataset file's folder)"),
			&cli.BoolFlag{Name: "header-only", Usage: "read each image's header only (size and the pixel limit), do not decode"},
			&cli.Int64Flag{Name: "max-image-pixels", Value: imageproc.DefaultMaxImagePixels, Usage: "decompression-bomb limit in `PIXELS`, as eval's: an image of more than twice as many is a problem (-1 = off)"},
			&cli.IntFlag{Name: "workers", Usage: "parallel image decodes `N` (0 = one per CPU)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
			modalityMapFlag(),
		}, columnFlags()...),
		Action: func(c *cli.Context) error {
			path, err := oneArg(c, "FILE")
			if err != nil {
				return err
			}
			format := c.String("format")
			if format != "text" && format != "json" {
				return usageErr("dataset validate: --format %q: want text or json", format)
			}
			mm, err := modalityMapFrom(c)
			if err != nil {
				return inputErr(err)
			}
			if c.Int("workers") < 0 {
				return usageErr("dataset validate: --workers %d: want 0 (one per CPU) or more", c.Int("workers"))
			}
			if err := checkImagesRoot("dataset validate", "images", c.String("images")); err != nil {
				return err
			}
			ic := datasets.ImageCheck{Decode: !c.Bool("header-only"), MaxImagePixels: c.Int64("max-image-pixels"),
				Workers: c.Int("workers"), Progress: c.App.ErrWriter}
			var probs []datasets.Problem
			if isParquet(path) {
				probs, err = datasets.ValidateParquetWithOptions(c.Context, path, columnsFrom(c), c.String("images"), mm, ic)
			} else {
				probs, err = datasets.ValidateWithOptions(c.Context, path, c.String("images"), mm, ic)
			}
			if err != nil {
				return inputErr(err)
			}
			w := c.App.Writer
			if format == "json" {
				if probs == nil {
					probs = []datasets.Problem{}
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"file": path, "ok": len(probs) == 0, "problems": probs}); err != nil {
					return inputErr(err)
				}
			} else {
				for _, p := range probs {
					fmt.Fprintf(w, "%s: %s\n", path, p)
				}
			}
			if len(probs) > 0 {
				return failErr(fmt.Errorf("dataset validate: %s: %d problem(s) in %d record(s)", path, len(probs), countRecords(probs)))
			}
			if format == "text" {
				fmt.Fprintf(w, "%s: ok\n", path)
			}
			return nil
		},
	}
}

func countRecords(probs []datasets.Problem) int {
	seen := map[int]bool{}
	for _, p := range probs {
		seen[p.Index] = true
	}
	return len(seen)
}

func datasetStatsCmd() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "counts per modality, options per item, answer letters, random-guess and majority-letter baselines",
		ArgsUsage: "FILE",
		Description: "Baselines are percentages: random guess = 100 * mean(1/number of options); majority letter =\n" +
			"accuracy of always answering the most common correct letter. The selection table tells whether\n" +
			"the seed's positional slices (MRI [0:300], CT [300:600], Xray [600:900]) pick the same records\n" +
			"as selection by subset.",
		Flags: append([]cli.Flag{
			imagesFlag("images root `DIR` (only used to resolve paths; default: the dataset file's folder)"),
			&cli.StringFlag{Name: "select", Value: string(datasets.BySubset), Usage: "`HOW` to form per-modality sets: subset or seed-slices"},
			&cli.StringSliceFlag{Name: "modalities", Value: cli.NewStringSlice("all"), Usage: "modalities to include (comma-separated, or all)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table or json"},
			modalityMapFlag(),
		}, columnFlags()...),
		Action: func(c *cli.Context) error {
			path, err := oneArg(c, "FILE")
			if err != nil {
				return err
			}
			format := c.String("format")
			if format != "table" && format != "json" {
				return usageErr("dataset stats: --format %q: want table or json", format)
			}
			sel, err := datasets.ParseSelection(c.String("select"))
			if err != nil {
				return usageErr("%v", err)
			}
			samples, err := loadDataset(c, path)
			if err != nil {
				return inputErr(err)
			}
			agreement := datasets.SelectionAgreement(samples)
			selected, err := datasets.Select(samples, sel, c.StringSlice("modalities"))
			if err != nil {
				return inputErr(fmt.Errorf("%s: %w", path, err))
			}
			st := datasets.ComputeStats(selected)
			w := c.App.Writer
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return inputErr(enc.Encode(map[string]any{
					"file": path, "select": sel, "stats": st,
					"selection_agreement": agreement, "selections_agree": datasets.AllAgree(agreement),
				}))
			}
			writeStatsTables(w, path, sel, st, agreement)
			return nil
		},
	}
}

func writeStatsTables(w io.Writer, path string, sel datasets.Selection, st datasets.Stats, ag []datasets.SliceAgreement) {
	letterSet := map[string]bool{}
	for _, m := range append(st.ByModality, st.Total) {
		for l := range m.Letters {
			letterSet[l] = true
		}
	}
	letters := make([]string, 0, len(letterSet))
	for l := range letterSet {
		letters = append(letters, l)
	}
	sort.Strings(letters)
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetTitle(fmt.Sprintf("%s (selection: %s)", path, sel))
	hdr := table.Row{"modality", "n", "options/item"}
	for _, l := range letters {
		hdr = append(hdr, l)
	}
	hdr = append(hdr, "random guess %", "majority letter %")
	t.AppendHeader(hdr)
	row := func(m datasets.ModalityStats) table.Row {
		r := table.Row{m.Modality, m.N, optionsHist(m.OptionsPerItem)}
		for _, l := range letters {
			r = append(r, m.Letters[l])
		}
		return append(r, fmt.Sprintf("%.2f", m.RandomGuessPct), fmt.Sprintf("%.2f (%s)", m.MajorityPct, m.MajorityLetter))
	}
	for _, m := range st.ByModality {
		t.AppendRow(row(m))
	}
	t.AppendFooter(row(st.Total))
	t.Render()

	a := table.NewWriter()
	a.SetOutputMirror(w)
	a.SetTitle("seed slices vs subset selection")
	a.AppendHeader(table.Row{"modality", "slice", "records in slice", "records by subset", "in both", "agree"})
	for _, x := range ag {
		a.AppendRow(table.Row{x.Modality, fmt.Sprintf("[%d:%d]", x.Lo, x.Hi), x.InSlice, x.BySubset, x.Both, yesNo(x.Agree)})
	}
	a.Render()
}

func optionsHist(h map[int]int) string {
	ks := make([]int, 0, len(h))
	for k := range h {
		ks = append(ks, k)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ks)))
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("%d×%d", h[k], k)
	}
	return strings.Join(parts, " + ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func datasetConvertCmd() *cli.Command {
	return &cli.Command{
		Name:      "convert",
		Usage:     "convert a dataset between the seed's JSON schema and HF parquet (direction from the file extensions)",
		ArgsUsage: "IN OUT",
		Description: "IN.json -> OUT.parquet: image is a list of paths, or with --embed-images the HF Image struct\n" +
			"{bytes, path} with the bytes read from --images. IN.parquet -> OUT.json: embedded images are written\n" +
			"to --images (default: OUT's folder) as images/<name> and referenced by that path; referenced\n" +
			"images keep their paths.",
		Flags: append([]cli.Flag{
			imagesFlag("images root `DIR`: where JSON images are read (to embed) or parquet images are written"),
			&cli.BoolFlag{Name: "embed-images", Usage: "JSON -> parquet: embed the image bytes"},
		}, columnFlags()...),
		Action: func(c *cli.Context) error {
			args, err := positionalArgs(c)
			if err != nil {
				return err
			}
			if len(args) != 2 {
				return usageErr("dataset convert: want IN and OUT arguments, got %d", len(args))
			}
			in, out := args[0], args[1]
			switch {
			case !isParquet(in) && isParquet(out):
				if err := datasets.ConvertJSONToParquet(c.Context, in, out, c.String("images"), c.Bool("embed-images")); err != nil {
					return inputErr(err)
				}
			case isParquet(in) && !isParquet(out):
				if c.Bool("embed-images") {
					return usageErr("dataset convert: --embed-images applies to JSON -> parquet only")
				}
				if err := datasets.ConvertParquetToJSON(c.Context, in, out, columnsFrom(c), c.String("images")); err != nil {
					return inputErr(err)
				}
			default:
				return usageErr("dataset convert: one of IN (%s) and OUT (%s) must end in .parquet and the other not", in, out)
			}
			fmt.Fprintf(c.App.Writer, "medbench dataset convert: wrote %s\n", out)
			return nil
		},
	}
}

func datasetSynthCmd() *cli.Command {
	return &cli.Command{
		Name:  "synth",
		Usage: "generate a synthetic dataset whose answers depend on the image (where is the bright lesion? how many?)",
		Description: "Writes OUT/dataset.json (seed schema, 4-space indent) and OUT/images/. Records come in equal\n" +
			"blocks per modality (so N=900 with MRI,CT,Xray matches the seed's positional slices).\n\n" +
			"--task quadrant (default): most are 4-option \"In which quadrant is the bright lesion?\" items,\n" +
			"every 5th a 2-option presence item. Images cycle through gray, RGB, RGBA and 16-bit gray, PNG and\n" +
			"JPEG; most are small, about one in 16 is large; file names contain spaces, parentheses and '%'.\n\n" +
			"--task count: 4-option \"How many lesions are there?\" items on 56×56 gray PNGs (one to four\n" +
			"of the four 28-pixel cells lit, each cell one merged image token); the image flags do not apply.\n" +
			"This is the task the tiny fixture model is trained on (its positional encoding cannot tell the\n" +
			"quadrants apart). Same seed, same bytes.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "output `DIR`"},
			&cli.IntFlag{Name: "n", Required: true, Usage: "number of records `N` (also --n N)"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "random `SEED`: the same seed and options give byte-identical output"},
			&cli.StringFlag{Name: "task", Value: "quadrant", Usage: "`TASK`: quadrant (where is the lesion) or count (how many lesions)"},
			&cli.StringSliceFlag{Name: "modalities", Value: cli.NewStringSlice(datasets.MRI, datasets.CT, datasets.Xray), Usage: "modalities in block order (comma-separated, or all)"},
			&cli.IntFlag{Name: "min-side", Value: 20, Usage: "smallest image width/height in pixels"},
			&cli.IntFlag{Name: "max-side", Value: 2000, Usage: "largest image width/height in pixels"},
			&cli.StringSliceFlag{Name: "formats", Value: cli.NewStringSlice(datasets.FormatPNG, datasets.FormatJPEG), Usage: "image formats: png, jpeg"},
			&cli.StringSliceFlag{Name: "modes", Value: cli.NewStringSlice(datasets.ModeGray, datasets.ModeRGB, datasets.ModeRGBA, datasets.ModeGray16), Usage: "image modes: gray, rgb, rgba, gray16"},
		},
		Action: func(c *cli.Context) error {
			if args, err := positionalArgs(c); err != nil {
				return err
			} else if len(args) != 0 {
				return usageErr("dataset synth: unexpected arguments %q", args)
			}
			var p string
			var err error
			switch c.String("task") {
			case "quadrant":
				p, err = datasets.Synth(c.Context, datasets.SynthOptions{
					Out: c.String("out"), N: c.Int("n"), Seed: c.Uint64("seed"), Modalities: c.StringSlice("modalities"),
					MinSide: c.Int("min-side"), MaxSide: c.Int("max-side"), Formats: c.StringSlice("formats"), Modes: c.StringSlice("modes"),
				})
			case "count":
				p, err = datasets.SynthCount(c.Context, c.String("out"), c.Int("n"), c.Uint64("seed"), c.StringSlice("modalities"))
			default:
				return usageErr("dataset synth: --task %q: want quadrant or count", c.String("task"))
			}
			if err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(c.App.Writer, "medbench dataset synth: wrote %d records to %s\n", c.Int("n"), p)
			return nil
		},
	}
}

func datasetModalitiesCmd() *cli.Command {
	return &cli.Command{
		Name:  "modalities",
		Usage: "list the subset strings and the modality each maps to",
		Flags: []cli.Flag{modalityMapFlag()},
		Action: func(c *cli.Context) error {
			mm, err := modalityMapFrom(c)
			if err != nil {
				return inputErr(err)
			}
			keys := make([]string, 0, len(mm))
			for k := range mm {
				keys = append(keys, k)
			}
			order := map[string]int{}
			for i, m := range mm.Names() {
				order[m] = i
			}
			sort.Slice(keys, func(i, j int) bool {
				if oi, oj := order[mm[keys[i]]], order[mm[keys[j]]]; oi != oj {
					return oi < oj
				}
				return keys[i] < keys[j]
			})
			t := table.NewWriter()
			t.SetOutputMirror(c.App.Writer)
			t.AppendHeader(table.Row{"subset", "modality"})
			for _, k := range keys {
				t.AppendRow(table.Row{strconv.Quote(k), mm[k]})
			}
			t.Render()
			return nil
		},
	}
}
