//go:build !unix

package hub

// lockFile creates the lock file but cannot lock it on this system:
// concurrent downloads of one blob or imports of one checkpoint are not
// serialized here.
func lockFile(path string) (unlock func(), err error) {
	f, err := createLockFile(path)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
