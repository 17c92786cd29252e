package config

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The admin password is stored as PBKDF2-HMAC-SHA256 with a random salt:
// "pbkdf2-sha256$ITERATIONS$SALT$KEY", salt and key in unpadded base64.
const (
	hashScheme     = "pbkdf2-sha256"
	hashIterations = 600_000
	minIterations  = 10_000
)

// PasswordHash is a parsed admin password hash.
type PasswordHash struct {
	iterations int
	salt, key  []byte
}

// HashPassword makes a hash of password for the config file.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, hashIterations, 32)
	if err != nil {
		return "", fmt.Errorf("pbkdf2: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("%s$%d$%s$%s", hashScheme, hashIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// ParsePasswordHash reads a hash made by HashPassword.
func ParsePasswordHash(s string) (PasswordHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != hashScheme {
		return PasswordHash{}, errors.New("want pbkdf2-sha256$ITERATIONS$SALT$KEY")
	}
	it, err := strconv.Atoi(parts[1])
	if err != nil || it < minIterations {
		return PasswordHash{}, fmt.Errorf("iterations must be a number of at least %d", minIterations)
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	key, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return PasswordHash{}, errors.New("salt or key is not valid base64 of the right size")
	}
	return PasswordHash{iterations: it, salt: salt, key: key}, nil
}

// Check tells whether password matches the hash, in constant time.
func (h PasswordHash) Check(password string) bool {
	key, err := pbkdf2.Key(sha256.New, password, h.salt, h.iterations, len(h.key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1
}
