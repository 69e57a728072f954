package k8sagent

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

func nestedString(o Object, fields ...string) (string, bool, error) {
	return unstructured.NestedString(o.Object, fields...)
}

func nestedSlice(o Object, fields ...string) ([]any, bool, error) {
	return unstructured.NestedSlice(o.Object, fields...)
}
