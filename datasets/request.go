package datasets

import "github.com/medbench/medbench/runners"

// Request is the runner request for this item under a prompt template: the
// item's images in order (embedded bytes win over the path), then the
// rendered question. id names the request (the item's ID, or a rollout's
// id#i) and seed is its own sampling seed (0: the runner derives one).
// eval, bench, tools and the trainer all build requests here.
func (s Item) Request(t Template, id string, seed uint64) runners.Request {
	n := max(len(s.ImagePaths), len(s.ImageBytes))
	imgs := make([]runners.Image, n)
	for i := range imgs {
		if i < len(s.ImageBytes) && s.ImageBytes[i] != nil {
			imgs[i].Bytes = s.ImageBytes[i]
		}
		if i < len(s.ImagePaths) {
			imgs[i].Path = s.ImagePaths[i]
		}
	}
	return runners.Request{ID: id, Prompt: t.Name, Images: imgs, Text: t.Render(s.Record.Problem), Seed: seed}
}
