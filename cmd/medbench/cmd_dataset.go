package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/medbench/medbench/datasets"
	"github.com/medbench/medbench/hub"
	"github.com/medbench/medbench/model/imageproc"
)

// datasetCommand is `medbench dataset ...`.
func datasetCommand() *cli.Command {
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

// fileAndFormat returns a dataset command's one FILE argument and its
// --format, which must be one of the two formats.
func fileAndFormat(c *cli.Context, formats ...string) (path, format string, err error) {
	if path, err = oneArg(c, "FILE"); err != nil {
		return "", "", err
	}
	format = c.String("format")
	if !slices.Contains(formats, format) {
		return "", "", usageErr("%s: --format %q: want %s", commandPath(c), format, strings.Join(formats, " or "))
	}
	return path, format, nil
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
			path, format, err := fileAndFormat(c, "text", "json")
			if err != nil {
				return err
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
			err = datasets.ValidateFile(c.Context, c.App.Writer, path, datasets.ValidateOptions{
				ImagesRoot: c.String("images"), Columns: columnsFrom(c), Modalities: mm, JSON: format == "json",
				Images: datasets.ImageCheck{Decode: !c.Bool("header-only"), MaxImagePixels: c.Int64("max-image-pixels"),
					Workers: c.Int("workers"), Progress: c.App.ErrWriter},
			})
			var pe *datasets.ProblemsError
			if errors.As(err, &pe) {
				return failErr(fmt.Errorf("dataset validate: %w", err))
			}
			return inputErr(err)
		},
	}
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
			path, format, err := fileAndFormat(c, "table", "json")
			if err != nil {
				return err
			}
			sel, err := datasets.ParseSelection(c.String("select"))
			if err != nil {
				return usageErr("%v", err)
			}
			mm, err := modalityMapFrom(c)
			if err != nil {
				return inputErr(err)
			}
			return inputErr(datasets.WriteStats(c.App.Writer, path, datasets.StatsOptions{
				Load:      datasets.LoadOptions{ImagesRoot: c.String("images"), Columns: columnsFrom(c), Modalities: mm},
				Selection: sel, Modalities: c.StringSlice("modalities"), JSON: format == "json",
			}))
		},
	}
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
			err = datasets.Convert(c.Context, in, out, datasets.ConvertOptions{
				ImagesRoot: c.String("images"), EmbedImages: c.Bool("embed-images"), Columns: columnsFrom(c)})
			if err != nil {
				return datasetErr("dataset convert", err)
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
			p, err := datasets.SynthTask(c.Context, c.String("task"), datasets.SynthOptions{
				Out: c.String("out"), N: c.Int("n"), Seed: c.Uint64("seed"), Modalities: c.StringSlice("modalities"),
				MinSide: c.Int("min-side"), MaxSide: c.Int("max-side"), Formats: c.StringSlice("formats"), Modes: c.StringSlice("modes"),
			})
			if err != nil {
				return datasetErr("dataset synth", err)
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
			mm.WriteTable(c.App.Writer)
			return nil
		},
	}
}
