package fdpass

func kind(int) (string, error) { return "", ErrUnsupported }
