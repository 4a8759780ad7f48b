package fdpass

func kind(int) (string, error) { return "", ErrUnsupported }

// Inherited: nothing is inherited by number on Windows.
func Inherited(int) error { return ErrUnsupported }
