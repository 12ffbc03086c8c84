package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // DecodeConfig of GIF images
	_ "image/jpeg" // DecodeConfig of JPEG images
	_ "image/png"  // DecodeConfig of PNG images
	"math"
	"strings"

	_ "golang.org/x/image/bmp"  // DecodeConfig of BMP images
	_ "golang.org/x/image/tiff" // DecodeConfig of TIFF images
	_ "golang.org/x/image/webp" // DecodeConfig of WebP images

	"github.com/medbench/medbench/runners"
	"github.com/medbench/medbench/sampler"
)

// chatRequest is the part of an OpenAI chat-completions request the server
// reads, with vLLM's sampling extensions. Pointer fields distinguish "not
// sent" from zero.
type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []chatMessage  `json:"messages"`
	Temperature         *float64       `json:"temperature"`
	TopP                *float64       `json:"top_p"`
	TopK                *int           `json:"top_k"`
	RepetitionPenalty   *float64       `json:"repetition_penalty"`
	MaxTokens           *int           `json:"max_tokens"`
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	MinTokens           *int           `json:"min_tokens"`
	N                   *int           `json:"n"`
	Seed                *int64         `json:"seed"`
	Stream              bool           `json:"stream"`
	MMProcessorKwargs   map[string]any `json:"mm_processor_kwargs"`
	ReturnTokenIDs      *bool          `json:"return_token_ids"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// apiError is an OpenAI-style error answer.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: 400, typ: "invalid_request_error", msg: fmt.Sprintf(format, args...)}
}

// parsed is a validated request: the runner request (without ID and seed),
// its decoding settings, the number of choices and the request's seed.
type parsed struct {
	req      runners.Request
	sampling runners.Sampling
	n        int
	seed     *int64
}

// parseChat validates a chat request against the server's limits and turns
// it into a runner request. Only one user turn is accepted, its images first
// and then at most one text part, because the runner's prompt is Qwen2-VL's
// chat template for exactly that shape (with the default system message,
// as vLLM applies the template when no system message is sent).
func (s *Server) parseChat(body []byte) (*parsed, *apiError) {
	var cr chatRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&cr); err != nil {
		return nil, badRequest("request body: %v", err)
	}
	if cr.Stream {
		return nil, badRequest("stream: streaming is not supported; send \"stream\": false")
	}
	if cr.Model != "" && cr.Model != s.cfg.ModelID {
		return nil, &apiError{status: 404, typ: "NotFoundError", msg: fmt.Sprintf("model %q is not served here (serving %q)", cr.Model, s.cfg.ModelID)}
	}
	if len(cr.Messages) != 1 || cr.Messages[0].Role != "user" {
		return nil, badRequest("messages: want exactly one message with role \"user\" (Qwen2-VL's default system message is added by the chat template; custom system messages and multi-turn chats are not supported)")
	}
	p := &parsed{n: 1}
	if err := s.parseContent(cr.Messages[0].Content, &p.req); err != nil {
		return nil, err
	}
	if err := s.parseSampling(&cr, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) parseContent(raw json.RawMessage, req *runners.Request) *apiError {
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		req.Text = text
		return nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return badRequest("messages[0].content: want a string or an array of content parts")
	}
	seenText := false
	for i, part := range parts {
		switch part.Type {
		case "text":
			if seenText {
				return badRequest("messages[0].content[%d]: only one text part is supported", i)
			}
			seenText = true
			req.Text = part.Text
		case "image_url":
			if seenText {
				return badRequest("messages[0].content[%d]: images must precede the text (Qwen2-VL prompt layout)", i)
			}
			if part.ImageURL == nil {
				return badRequest("messages[0].content[%d]: image_url part without image_url.url", i)
			}
			if len(req.Images) >= s.cfg.MaxImages {
				return badRequest("messages[0].content: more than %d images", s.cfg.MaxImages)
			}
			b, err := s.decodeImage(part.ImageURL.URL)
			if err != nil {
				return badRequest("messages[0].content[%d]: %v", i, err)
			}
			req.Images = append(req.Images, runners.Image{Bytes: b})
		default:
			return badRequest("messages[0].content[%d]: content part type %q is not supported (text, image_url)", i, part.Type)
		}
	}
	return nil
}

// decodeImage accepts only base64 data URIs of images whose header says
// they have at most MaxImagePixels pixels; http(s) and file URLs are
// refused (the server never fetches).
func (s *Server) decodeImage(u string) ([]byte, error) {
	if !strings.HasPrefix(u, "data:") {
		scheme, _, _ := strings.Cut(u, ":")
		if len(scheme) > 16 {
			scheme = scheme[:16]
		}
		return nil, fmt.Errorf("image URL scheme %q refused: send images as base64 data URIs (data:image/png;base64,...)", scheme)
	}
	meta, data, ok := strings.Cut(u[len("data:"):], ",")
	if !ok || !strings.HasSuffix(meta, ";base64") || !strings.HasPrefix(meta, "image/") {
		return nil, errors.New("image data URI: want data:image/<type>;base64,<data>")
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("image data URI: %w", err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("image header: %w", err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); cfg.Width <= 0 || cfg.Height <= 0 || px > int64(s.cfg.MaxImagePixels) {
		return nil, fmt.Errorf("image of %dx%d pixels: the server accepts at most %d pixels", cfg.Width, cfg.Height, s.cfg.MaxImagePixels)
	}
	return b, nil
}

// parseSampling maps the OpenAI/vLLM fields to Hugging Face generate
// semantics: temperature 0 is greedy; top_k -1 or 0 and top_p 1 are off.
// Fields not sent take vLLM's defaults under --generation-config vllm
// (temperature 1, top_p 1, top_k off, repetition_penalty 1), except
// max_tokens, which defaults to the server's --default-max-tokens.
func (s *Server) parseSampling(cr *chatRequest, p *parsed) *apiError {
	sm := runners.Sampling{Temperature: 1, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: s.cfg.DefaultMaxTokens}
	if cr.Temperature != nil {
		sm.Temperature = *cr.Temperature
	}
	if cr.TopP != nil {
		sm.TopP = *cr.TopP
	}
	if cr.TopK != nil && *cr.TopK > 0 {
		sm.TopK = *cr.TopK
	} else if cr.TopK != nil && *cr.TopK < -1 {
		return badRequest("top_k %d: want -1 or 0 (off) or a positive count", *cr.TopK)
	}
	if cr.RepetitionPenalty != nil {
		sm.RepetitionPenalty = *cr.RepetitionPenalty
	}
	switch {
	case cr.MaxCompletionTokens != nil:
		sm.MaxNewTokens = *cr.MaxCompletionTokens
	case cr.MaxTokens != nil:
		sm.MaxNewTokens = *cr.MaxTokens
	}
	if sm.MaxNewTokens < 1 || sm.MaxNewTokens > s.cfg.MaxTokensCap {
		return badRequest("max_tokens %d: want 1 to %d", sm.MaxNewTokens, s.cfg.MaxTokensCap)
	}
	if cr.MinTokens != nil {
		sm.MinNewTokens = *cr.MinTokens
	}
	if sm.Temperature < 0 || math.IsNaN(sm.Temperature) {
		return badRequest("temperature %v: want 0 (greedy) or more", sm.Temperature)
	}
	sm.DoSample = sm.Temperature > 0
	if !sm.DoSample {
		// Greedy: the filters have no effect; one key for every greedy request.
		sm.Temperature, sm.TopK, sm.TopP = 1, 0, 1
	}
	if err := sampler.Validate(sm); err != nil {
		return badRequest("sampling: %v", err)
	}
	if cr.N != nil {
		p.n = *cr.N
	}
	if p.n < 1 || p.n > s.cfg.MaxBatch {
		return badRequest("n %d: want 1 to %d (--max-batch)", p.n, s.cfg.MaxBatch)
	}
	for k, v := range cr.MMProcessorKwargs {
		want, known := s.cfg.Pixels[k]
		f, isNum := v.(float64)
		if !known || !isNum || int(f) != want {
			return badRequest("mm_processor_kwargs.%s = %v: this server preprocesses with fixed pixel bounds %v (start it with --min-pixels/--max-pixels to change them)", k, v, s.cfg.Pixels)
		}
	}
	p.seed = cr.Seed
	p.sampling = sm
	return nil
}

// chatResponse is the OpenAI answer, plus vLLM's token_ids per choice.
type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   chatUsage    `json:"usage"`
}

type chatChoice struct {
	Index   int `json:"index"`
	Message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"message"`
	FinishReason string `json:"finish_reason"`
	// TokenIDs are the generated ids, EOS included (vLLM's return_token_ids
	// field name).
	TokenIDs []int `json:"token_ids"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func finishReason(r string) string {
	if r == "eos" {
		return "stop"
	}
	return r
}
