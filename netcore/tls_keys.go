package netcore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/youmark/pkcs8"
)

// fileError names an option's file that cannot be read: "cert
// /etc/x.pem: open /etc/x.pem: no such file or directory".
func fileError(option, file string, err error) *Error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	e := usageError("ERR_INVALID_ARG_VALUE", "%s %s: %v", option, file, err)
	e.Err = err
	return e
}

// loadCA reads a PEM bundle of CA certificates.
func loadCA(file string) (*x509.CertPool, error) {
	certs, err := loadCertificates("ca", file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// loadCertificates reads every CERTIFICATE block of a PEM file.
func loadCertificates(option, file string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fileError(option, file, err)
	}
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" && block.Type != "TRUSTED CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, usageError("ERR_INVALID_ARG_VALUE", "%s %s: certificate %d: %v", option, file, n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, usageError("ERR_INVALID_ARG_VALUE", "%s %s: no PEM certificate in the file", option, file)
	}
	return certs, nil
}

// loadKeyPair reads a certificate chain and its key, and checks that
// they belong together.
func loadKeyPair(certFile, keyFile, pass string) (*tls.Certificate, error) {
	switch {
	case certFile == "":
		return nil, usageError("ERR_INVALID_ARG_VALUE", "key %s: a key needs its certificate (cert)", keyFile)
	case keyFile == "":
		return nil, usageError("ERR_INVALID_ARG_VALUE", "cert %s: a certificate needs its key (key)", certFile)
	}
	chain, err := loadCertificates("cert", certFile)
	if err != nil {
		return nil, err
	}
	key, err := loadKey(keyFile, pass)
	if err != nil {
		return nil, err
	}
	pub, ok := chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, usageError("ERR_OSSL_X509_KEY_VALUES_MISMATCH", "key %s does not match the certificate in %s (key values mismatch)", keyFile, certFile)
	}
	cert := &tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// loadKey reads the first private key of a PEM file: PKCS#8 ("PRIVATE
// KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"), either
// encrypted as PKCS#8 ("ENCRYPTED PRIVATE KEY", PBES2 as OpenSSL writes
// it today, or PBES1) or with the legacy PEM headers ("Proc-Type: 4,
// ENCRYPTED", what openssl genrsa -aes256 and older tools write).
func loadKey(file, pass string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fileError("key", file, err)
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, usageError("ERR_INVALID_ARG_VALUE", "key %s: no PEM private key in the file", file)
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue // EC PARAMETERS, a certificate, ...
		}
		der := block.Bytes
		encrypted := block.Type == "ENCRYPTED PRIVATE KEY"
		//lint:ignore SA1019 legacy PEM encryption is still what many keys on disk use; Node (OpenSSL) reads it, so nodenet must
		legacy := x509.IsEncryptedPEMBlock(block) //nolint:staticcheck // see above
		if (encrypted || legacy) && pass == "" {
			return nil, usageError("ERR_MISSING_PASSPHRASE", "key %s is encrypted: give its passphrase (passphrase or passphrase-file)", file)
		}
		var key any
		switch {
		case encrypted:
			// The standard library reads no encrypted PKCS#8; pkcs8 does
			// PBES2 (PBKDF2 or scrypt; AES-CBC, AES-GCM, 3DES) as OpenSSL
			// writes it.
			key, err = pkcs8.ParsePKCS8PrivateKey(der, []byte(pass))
			if err != nil {
				return nil, keyError(file, err, true)
			}
		case legacy:
			//lint:ignore SA1019 see above: the format is insecure, but it is the user's key
			der, err = x509.DecryptPEMBlock(block, []byte(pass)) //nolint:staticcheck // see above
			if err != nil {
				return nil, keyError(file, err, true)
			}
			fallthrough
		default:
			key, err = parsePlainKey(block.Type, der)
			if err != nil {
				return nil, keyError(file, err, legacy)
			}
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, usageError("ERR_INVALID_ARG_VALUE", "key %s: unsupported key type %T", file, key)
		}
		switch signer.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		default:
			return nil, usageError("ERR_INVALID_ARG_VALUE", "key %s: unsupported key type %T", file, key)
		}
		return signer, nil
	}
}

// parsePlainKey parses an unencrypted key by its PEM type, trying the
// other encodings when the type lies.
func parsePlainKey(typ string, der []byte) (any, error) {
	switch typ {
	case "RSA PRIVATE KEY":
		if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
			return k, nil
		}
	case "EC PRIVATE KEY":
		if k, err := x509.ParseECPrivateKey(der); err == nil {
			return k, nil
		}
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("not a PKCS#1, PKCS#8 or EC private key")
}

// keyError names a key that cannot be read. After decryption, garbage
// means the passphrase was wrong: OpenSSL's "bad decrypt".
func keyError(file string, err error, decrypting bool) *Error {
	var e *Error
	if decrypting {
		e = usageError("ERR_OSSL_BAD_DECRYPT", "key %s: bad decrypt (wrong passphrase?)", file)
	} else {
		e = usageError("ERR_INVALID_ARG_VALUE", "key %s: %v", file, err)
	}
	e.Err = err
	return e
}
