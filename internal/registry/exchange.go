package registry

import "os"

// exchange puts folder next in the place of folder current and moves the
// previous current to aside. Where the system can swap two names in one
// step (renameat2 on Linux) current never disappears; elsewhere it is missing
// between two renames.
func exchange(next, current, aside string) error {
	swapped, err := swap(next, current)
	if err != nil {
		return err
	}
	if swapped {
		// next now holds the previous files.
		return os.Rename(next, aside)
	}
	if err := os.Rename(current, aside); err != nil {
		return err
	}
	return os.Rename(next, current)
}
