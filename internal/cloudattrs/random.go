package cloudattrs

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
)

var petWords = []string{"amber", "brisk", "calm", "dapper", "eager", "fleet", "gentle", "hardy", "lucid", "mellow",
	"noble", "prime", "quiet", "rapid", "sunny", "tidy", "vivid", "wise", "badger", "falcon", "heron", "lynx",
	"otter", "panda", "raven", "salmon", "tapir", "walrus"}

// randomMaterialize generates the result of a pulumi-random resource (values from the entropy source).
func randomMaterialize(a *Resource) (string, map[string]any) {
	out := make(map[string]any, len(a.Inputs)+4)
	for k, v := range a.Inputs {
		out[k] = v
	}
	switch a.short() {
	case "RandomPassword", "RandomString":
		s := randomString(a)
		out["result"] = s
		if a.short() == "RandomPassword" {
			return "none", out
		}
		return s, out
	case "RandomId":
		n := int(num(a.Inputs, "byteLength", 8))
		b := a.bytes(n)
		out["hex"] = hex.EncodeToString(b)
		out["b64Std"] = base64.StdEncoding.EncodeToString(b)
		out["b64Url"] = base64.RawURLEncoding.EncodeToString(b)
		out["dec"] = new(big.Int).SetBytes(b).String()
		return out["b64Url"].(string), out
	case "RandomInteger":
		lo, hi := int64(num(a.Inputs, "min", 0)), int64(num(a.Inputs, "max", 100))
		if hi < lo {
			hi = lo
		}
		v, _ := rand.Int(a.entropy(), big.NewInt(hi-lo+1))
		r := lo + v.Int64()
		out["result"] = r
		return big.NewInt(r).String(), out
	case "RandomPet":
		n := int(num(a.Inputs, "length", 2))
		words := make([]string, 0, n+1)
		if p, _ := a.Inputs["prefix"].(string); p != "" {
			words = append(words, p)
		}
		for range n {
			i, _ := rand.Int(a.entropy(), big.NewInt(int64(len(petWords))))
			words = append(words, petWords[i.Int64()])
		}
		sep, ok := a.Inputs["separator"].(string)
		if !ok {
			sep = "-"
		}
		s := strings.Join(words, sep)
		out["id"] = s
		return s, out
	case "RandomUuid":
		u := a.uuid()
		out["result"] = u
		return u, out
	}
	return a.hex(16), out
}

func num(m map[string]any, k string, def float64) float64 {
	if v, ok := m[k].(float64); ok {
		return v
	}
	return def
}

func flag(m map[string]any, k string) bool {
	v, ok := m[k].(bool)
	return !ok || v // pulumi-random's character classes default to true
}

func randomString(a *Resource) string {
	in := a.Inputs
	charset := ""
	if flag(in, "lower") {
		charset += "abcdefghijklmnopqrstuvwxyz"
	}
	if flag(in, "upper") {
		charset += "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	}
	if flag(in, "numeric") {
		charset += "0123456789"
	}
	if flag(in, "special") {
		special := "!@#$%&*()-_=+[]{}<>:?"
		if o, ok := in["overrideSpecial"].(string); ok && o != "" {
			special = o
		}
		charset += special
	}
	if charset == "" {
		charset = "abcdefghijklmnopqrstuvwxyz"
	}
	n := int(num(in, "length", 16))
	b := make([]byte, n)
	for i := range b {
		j, _ := rand.Int(a.entropy(), big.NewInt(int64(len(charset))))
		b[i] = charset[j.Int64()]
	}
	return string(b)
}
