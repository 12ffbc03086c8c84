package qwen2vl

// ONNXFiles lists the files under onnx/ that the runner opens for a --dtype
// spec (see Config.DType), e.g. "decoder_model_merged_q4.onnx", in session
// order: vision encoder, token embedding, decoder. Callers that fetch a model
// (the hub client) download these and their external data files only.
func ONNXFiles(spec string) ([]string, error) {
	suf, err := parseDType(spec)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, 3)
	for _, s := range []string{sessVision, sessEmbed, sessDecoder} {
		out = append(out, s+suf[s]+".onnx")
	}
	return out, nil
}
