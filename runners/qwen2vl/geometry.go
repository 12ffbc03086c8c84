package qwen2vl

import "errors"

// Geometry is the part of a model's shape that code laying out Prepare's
// tensors for another engine (the GRPO trainer's GoMLX graph) needs. It is
// read from the model directory's JSON files exactly as Open reads them.
type Geometry struct {
	// ImageTokenID is config.json's image_token_id: the <|image_pad|>
	// token whose embeddings the vision encoder's features replace.
	ImageTokenID int
	// MergeSize is config.json's vision_config.spatial_merge_size (2 when
	// absent): the vision encoder emits one feature per MergeSize² patches.
	MergeSize int
	// PatchDim is the length of one row of Prepared.PixelValues,
	// 3·temporal_patch_size·patch_size² of preprocessor_config.json (1176
	// for Qwen2-VL).
	PatchDim int
}

// ReadGeometry reads a model directory's Geometry. Its errors are Open's
// for the same files, each naming the file at fault.
func ReadGeometry(dir string) (Geometry, error) {
	f, errs := loadJSONFiles(dir)
	if len(errs) > 0 {
		return Geometry{}, errors.Join(errs...)
	}
	return Geometry{ImageTokenID: f.meta.tok.imagePad, MergeSize: f.meta.tok.merge, PatchDim: f.img.PatchDim()}, nil
}
